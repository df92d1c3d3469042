//! ECMA-376 *Standard* encryption ([MS-OFFCRYPTO] 2.3.4.5–2.3.4.9: AES-128 in ECB mode, a key
//! from SHA-1 over the password), as older Excel and other writers save an encrypted `.xlsx`.
//! Read here rather than by `office-crypto`, which refuses headers that leave the algorithm to
//! the flags (`AlgID` 0, as the specification allows) and encrypted packages whose last block
//! is short. The password is checked against the file's verifier before anything is decrypted,
//! so a workbook with a password of its own is told apart from a damaged one.

use aes::cipher::{BlockDecrypt, KeyInit};
use sha1::{Digest, Sha1};

/// What a Standard-encrypted package came to with a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Decrypted {
    /// Not Standard encryption (Agile, or not ECMA-376 at all).
    NotStandardEncryption,
    /// The password is not the one the file was encrypted with.
    WrongPassword,
    /// The package, decrypted.
    Package(Vec<u8>),
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i.checked_add(4)?)?.try_into().ok()?))
}

/// Decrypts `package` (the `EncryptedPackage` stream) with `password`, if `info` (the
/// `EncryptionInfo` stream) is Standard encryption; `None` if either is damaged.
pub fn decrypt(info: &[u8], package: &[u8], password: &str) -> Option<Decrypted> {
    // Versions 2.2, 3.2 and 4.2 are Standard; 4.4 is Agile.
    if !matches!(info.get(..4)?, [2..=4, 0, 2, 0]) {
        return Some(Decrypted::NotStandardEncryption);
    }
    let header_len = u32_at(info, 8)? as usize;
    let header = info.get(12..12usize.checked_add(header_len)?)?;
    let (flags, alg_id, alg_hash, key_bits) =
        (u32_at(header, 0)?, u32_at(header, 8)?, u32_at(header, 12)?, u32_at(header, 16)?);
    const F_AES: u32 = 0x20;
    // AES-128 with SHA-1, the algorithm named or left to the flags (0).
    let aes128 = matches!(alg_id, 0x660E) || (alg_id == 0 && flags & F_AES != 0);
    if !aes128 || !matches!(alg_hash, 0 | 0x8004) || !matches!(key_bits, 0 | 128) {
        return Some(Decrypted::NotStandardEncryption);
    }
    let verifier = info.get(12 + header_len..)?;
    if u32_at(verifier, 0)? != 16 {
        return None;
    }
    let salt = verifier.get(4..20)?;
    let key = key(password, salt);
    let cipher = aes::Aes128::new_from_slice(&key).ok()?;
    let check = ecb_decrypt(&cipher, verifier.get(20..36)?);
    let check_hash = ecb_decrypt(&cipher, verifier.get(40..72)?);
    if Sha1::digest(&check).as_slice() != &check_hash[..20] {
        return Some(Decrypted::WrongPassword);
    }
    let size = u64::from_le_bytes(package.get(..8)?.try_into().ok()?);
    let blocks = package.get(8..)?;
    // A last block cut short is dropped: the declared size says what the package holds.
    let whole = &blocks[..blocks.len() - blocks.len() % 16];
    if size > whole.len() as u64 {
        return None;
    }
    let mut plain = ecb_decrypt(&cipher, whole);
    plain.truncate(size as usize);
    Some(Decrypted::Package(plain))
}

/// The encryption key: [MS-OFFCRYPTO] 2.3.4.7, SHA-1 over the salt and password, 50,000
/// rounds, then the derivation for a 128-bit key.
fn key(password: &str, salt: &[u8]) -> Vec<u8> {
    let password: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut h = Sha1::new().chain_update(salt).chain_update(&password).finalize();
    for i in 0u32..50_000 {
        h = Sha1::new().chain_update(i.to_le_bytes()).chain_update(h).finalize();
    }
    let h = Sha1::new().chain_update(h).chain_update(0u32.to_le_bytes()).finalize();
    let derive = |fill: u8| {
        let mut buf = [fill; 64];
        buf.iter_mut().zip(h.iter()).for_each(|(b, x)| *b ^= x);
        Sha1::digest(buf)
    };
    let mut key = derive(0x36).to_vec();
    key.truncate(16);
    key
}

fn ecb_decrypt(cipher: &aes::Aes128, data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for block in out.chunks_exact_mut(16) {
        cipher.decrypt_block(block.into());
    }
    out
}
