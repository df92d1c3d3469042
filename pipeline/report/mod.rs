//! What people and catalogues read: `report.html` (`html`), `report.md` (`markdown`), the
//! feedback files areas are sent (`feedback`) and `datapackage.json` (`datapackage`). Text an
//! area typed is escaped for each (`escape`).

pub mod datapackage;
pub mod escape;
pub mod feedback;
pub mod html;
pub mod markdown;
