//! A minimal, bounded reader of OLE compound files (CFB): enough to list the streams and read
//! one of them, so `.xls` files can be checked before calamine parses them.
//!
//! Everything here distrusts the file: every sector number is range-checked, every chain is
//! walked at most as many steps as the file has sectors (so loops end), and nothing is
//! allocated from a count the file declares, only from what the file actually holds.

/// End of a sector chain, and other reserved sector numbers (all >= 0xFFFF_FFFA).
const MAX_REGULAR_SECTOR: u32 = 0xFFFF_FFFA;
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;

/// A parsed compound file over the file's bytes.
pub struct Cfb<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    fat: Vec<u32>,
    mini_fat: Vec<u32>,
    mini_stream: Vec<u8>,
    mini_cutoff: u64,
    pub entries: Vec<Entry>,
}

/// One directory entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// 1 storage, 2 stream, 5 root.
    pub kind: u8,
    start: u32,
    pub size: u64,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

impl<'a> Cfb<'a> {
    /// Parses the header, allocation tables and directory. `Err` says what is damaged.
    pub fn parse(bytes: &'a [u8]) -> Result<Cfb<'a>, &'static str> {
        if bytes.len() < 512 {
            return Err("the compound file is truncated (shorter than its header)");
        }
        let shift = u16_at(bytes, 0x1E).unwrap_or(0);
        let sector_size = match shift {
            9 => 512,
            12 => 4096,
            _ => return Err("the compound file header is damaged (sector size)"),
        };
        let n_sectors = bytes.len().saturating_sub(sector_size) / sector_size;
        let mut cfb = Cfb {
            bytes,
            sector_size,
            fat: Vec::new(),
            mini_fat: Vec::new(),
            mini_stream: Vec::new(),
            mini_cutoff: u32_at(bytes, 0x38).unwrap_or(4096) as u64,
            entries: Vec::new(),
        };
        // DIFAT: 109 entries in the header, then a chain of DIFAT sectors.
        let mut fat_sectors: Vec<u32> =
            (0..109).filter_map(|i| u32_at(bytes, 0x4C + 4 * i)).filter(|&s| s < MAX_REGULAR_SECTOR).collect();
        let mut difat = u32_at(bytes, 0x44).unwrap_or(END_OF_CHAIN);
        let mut steps = 0;
        while difat < MAX_REGULAR_SECTOR {
            steps += 1;
            if steps > n_sectors {
                return Err("the compound file's allocation table loops");
            }
            let sec = cfb.sector(difat).ok_or("the compound file is truncated")?;
            let per = sector_size / 4 - 1;
            fat_sectors.extend((0..per).filter_map(|i| u32_at(sec, 4 * i)).filter(|&s| s < MAX_REGULAR_SECTOR));
            difat = u32_at(sec, 4 * per).unwrap_or(END_OF_CHAIN);
        }
        if fat_sectors.len() > n_sectors {
            return Err("the compound file's allocation table is larger than the file");
        }
        let mut fat = Vec::with_capacity(fat_sectors.len() * sector_size / 4);
        for s in fat_sectors {
            let sec = cfb.sector(s).ok_or("the compound file is truncated")?;
            fat.extend(sec.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        }
        cfb.fat = fat;
        // Directory.
        let dir_start = u32_at(bytes, 0x30).unwrap_or(END_OF_CHAIN);
        let dir = cfb.chain(dir_start, u64::MAX)?;
        for e in dir.chunks_exact(128) {
            let name_len = (u16_at(e, 0x40).unwrap_or(0) as usize).min(64);
            let units: Vec<u16> =
                e[..name_len.saturating_sub(2)].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            let kind = e[0x42];
            if kind == 0 {
                continue;
            }
            let size =
                if sector_size == 512 { u32_at(e, 0x78).unwrap_or(0) as u64 } else { u64_at(e, 0x78).unwrap_or(0) };
            cfb.entries.push(Entry {
                name: String::from_utf16_lossy(&units),
                kind,
                start: u32_at(e, 0x74).unwrap_or(END_OF_CHAIN),
                size,
            });
        }
        // Mini stream (the root entry's stream) and mini FAT, for small streams.
        if let Some(root) = cfb.entries.iter().find(|e| e.kind == 5).cloned() {
            let mini_fat_start = u32_at(bytes, 0x3C).unwrap_or(END_OF_CHAIN);
            let mf = cfb.chain(mini_fat_start, u64::MAX)?;
            cfb.mini_fat = mf.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let mut ms = cfb.chain(root.start, u64::MAX)?;
            ms.truncate(root.size.min(ms.len() as u64) as usize);
            cfb.mini_stream = ms;
        }
        Ok(cfb)
    }

    /// A sector's bytes. The file's last sector may be short: writers need not pad it, and
    /// a stream that ends in it is still whole (a stream cut short is caught by its size).
    fn sector(&self, id: u32) -> Option<&'a [u8]> {
        let start = (id as usize).checked_add(1)?.checked_mul(self.sector_size)?;
        if start >= self.bytes.len() {
            return None;
        }
        self.bytes.get(start..start.checked_add(self.sector_size)?.min(self.bytes.len()))
    }

    /// Follows a FAT chain, at most `limit` bytes and at most one step per sector.
    fn chain(&self, start: u32, limit: u64) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0usize;
        while id < MAX_REGULAR_SECTOR && (out.len() as u64) < limit {
            steps += 1;
            if steps > self.fat.len() + 1 {
                return Err("a stream in the compound file loops");
            }
            let sec = self.sector(id).ok_or("the compound file is truncated")?;
            out.extend_from_slice(sec);
            id = *self.fat.get(id as usize).ok_or("the compound file is damaged")?;
        }
        if limit != u64::MAX {
            if (out.len() as u64) < limit {
                return Err("a stream in the compound file is truncated");
            }
            out.truncate(limit as usize);
        }
        Ok(out)
    }

    fn mini_chain(&self, start: u32, size: u64) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0usize;
        while id < MAX_REGULAR_SECTOR && (out.len() as u64) < size {
            steps += 1;
            if steps > self.mini_fat.len() + 1 {
                return Err("a stream in the compound file loops");
            }
            // The last mini block may be short, as the file's last sector may be: a stream
            // cut short is still caught by its size below.
            let at = id as usize * 64;
            let end = (at + 64).min(self.mini_stream.len());
            let sec =
                self.mini_stream.get(at..end).filter(|s| !s.is_empty()).ok_or("the compound file is truncated")?;
            out.extend_from_slice(sec);
            id = *self.mini_fat.get(id as usize).ok_or("the compound file is damaged")?;
        }
        if (out.len() as u64) < size {
            return Err("a stream in the compound file is truncated");
        }
        out.truncate(size as usize);
        Ok(out)
    }

    /// Whether a stream or storage of this name exists (case-insensitive, as Excel compares).
    pub fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name.eq_ignore_ascii_case(name))
    }

    /// The bytes of the first stream with this name.
    pub fn stream(&self, name: &str) -> Option<Result<Vec<u8>, &'static str>> {
        let e = self.entries.iter().find(|e| e.kind == 2 && e.name.eq_ignore_ascii_case(name))?;
        if e.size > self.bytes.len() as u64 {
            return Some(Err("a stream in the compound file is larger than the file"));
        }
        Some(if e.size < self.mini_cutoff { self.mini_chain(e.start, e.size) } else { self.chain(e.start, e.size) })
    }
}
