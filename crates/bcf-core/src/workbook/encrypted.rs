//! Workbooks encrypted with Excel's built-in default password, `VelvetSweatshop`: Excel
//! writes them for "read-only recommended" and similar settings and opens them without asking,
//! so to the sender they are not password-protected at all. An OOXML workbook (a compound file
//! holding `EncryptionInfo` and `EncryptedPackage`) is decrypted with that password by
//! `office-crypto` before any check or reader sees it; the decrypted package then passes the
//! same checks as any other. A workbook that needs another password stays encrypted, and the
//! checks say how to remove the password.

use super::cfb::Cfb;
use super::sniff::{Source, CFB_MAGIC, ZIP_MAGIC};
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
    if !(cfb.has("EncryptionInfo") && cfb.has("EncryptedPackage")) {
        return Ok(None);
    }
    // office-crypto does not check the password: another password decrypts to noise, which
    // is told from a workbook by the zip signature every OOXML package starts with.
    match office_crypto::decrypt_from_bytes(bytes.to_vec(), EXCEL_DEFAULT_PASSWORD) {
        Ok(plain) if !plain.starts_with(ZIP_MAGIC) => Ok(None),
        Ok(plain) if plain.len() as u64 <= limits.max_inflated_bytes => Ok(Some(Source::from_bytes(plain))),
        Ok(_) => Err(OpenError::TooLarge(format!(
            "the workbook decrypts to more than the {} MiB limit for a workbook",
            limits.max_inflated_bytes >> 20
        ))),
        // Not Excel's default password: the checks then say how to remove the sender's own.
        Err(_) => Ok(None),
    }
}
