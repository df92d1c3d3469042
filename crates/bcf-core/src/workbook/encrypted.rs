//! Workbooks encrypted with Excel's built-in default password, `VelvetSweatshop`: Excel
//! writes them for "read-only recommended" and similar settings and opens them without asking,
//! so to the sender they are not password-protected at all. An OOXML workbook (a compound file
//! holding `EncryptionInfo` and `EncryptedPackage`) is decrypted with that password before any
//! check or reader sees it — Standard encryption by [`super::standard`], Agile by
//! `office-crypto` — and the decrypted package then passes the same checks as any other. A
//! workbook that needs another password stays encrypted, and the checks say how to remove the
//! password.

use super::cfb::Cfb;
use super::sniff::{Source, CFB_MAGIC, ZIP_MAGIC};
use super::standard::{self, Decrypted};
use super::{Limits, OpenError};

/// The password Excel uses when the sender set none.
const EXCEL_DEFAULT_PASSWORD: &str = "VelvetSweatshop";

/// The decrypted workbook, if `src` is an OOXML workbook encrypted with Excel's default
/// password; `None` otherwise (the checks then say what it is).
pub fn with_default_password(src: &Source, limits: Limits) -> Result<Option<Source>, OpenError> {
    let bytes = src.as_bytes();
    if !bytes.starts_with(CFB_MAGIC) {
        return Ok(None); // not a compound file
    }
    let Ok(cfb) = Cfb::parse(bytes) else { return Ok(None) };
    let (Some(Ok(info)), Some(Ok(package))) = (cfb.stream("EncryptionInfo"), cfb.stream("EncryptedPackage")) else {
        return Ok(None);
    };
    let plain = match standard::decrypt(&info, &package, EXCEL_DEFAULT_PASSWORD) {
        Some(Decrypted::Package(plain)) => plain,
        // Not Excel's default password: the checks then say how to remove the sender's own.
        Some(Decrypted::WrongPassword) => return Ok(None),
        None => return Err(OpenError::unreadable(DAMAGED)),
        // office-crypto does not check an Agile password: another password decrypts to
        // noise, which is told from a workbook by the zip signature every package starts with.
        Some(Decrypted::NotStandardEncryption) => {
            match office_crypto::decrypt_from_bytes(bytes.to_vec(), EXCEL_DEFAULT_PASSWORD) {
                Ok(plain) if plain.starts_with(ZIP_MAGIC) => plain,
                _ => return Ok(None),
            }
        }
    };
    if !plain.starts_with(ZIP_MAGIC) {
        return Err(OpenError::unreadable(DAMAGED));
    }
    if plain.len() as u64 > limits.max_inflated_bytes {
        return Err(OpenError::too_large(format!(
            "the workbook decrypts to more than the {} MiB limit for a workbook",
            limits.max_inflated_bytes >> 20
        )));
    }
    Ok(Some(Source::from_bytes(plain)))
}

/// Encrypted with the default password, but not a workbook once decrypted.
const DAMAGED: &str = "the workbook is encrypted with Excel's built-in password (Excel opens it without asking) but its encrypted content is damaged; open it in Excel, save it again as .xlsx and resubmit";
