//! What people and catalogues read: `report.html` (`html`, `chart`), one page per area
//! (`areas`), `report.md` (`markdown`), `bcf-national.xlsx` (`excel`), the feedback files areas
//! are sent (`feedback`) and `datapackage.json` (`datapackage`), all from what `digest` makes
//! of the tables. Text an area typed is escaped for each (`escape`).

pub mod areas;
mod chart;
pub mod datapackage;
pub mod digest;
pub mod escape;
pub mod excel;
pub mod feedback;
pub mod html;
pub mod markdown;
