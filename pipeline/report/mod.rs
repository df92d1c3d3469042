//! What people and catalogues read: `report.html` (`html`, `chart`), one page per area
//! (`areas`), `report.md` (`markdown`), the
//! feedback files areas are sent (`feedback`) and `datapackage.json` (`datapackage`). Text an
//! area typed is escaped for each (`escape`).

pub mod areas;
mod chart;
pub mod datapackage;
pub mod escape;
pub mod feedback;
pub mod html;
pub mod markdown;
