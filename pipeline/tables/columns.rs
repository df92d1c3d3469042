//! How a table's columns are declared: once each, with the name, type, nullability and meaning
//! that the Parquet schema, `datapackage.json` and the README's tables are all made from (or
//! tested against).

use crate::model::{Date, FinancialYear, Pence};

/// A column's type in Parquet (Arrow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Utf8,
    Int32,
    Int64,
    /// `decimal128(18,2)`: pounds and pence, exact.
    Money,
    Float64,
    /// Days since 1970-01-01.
    Date32,
    /// A list of texts.
    Utf8List,
}

impl Kind {
    /// As the README and `datapackage.json` name it.
    pub fn arrow_name(self) -> &'static str {
        match self {
            Kind::Utf8 => "utf8",
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::Money => "decimal128(18,2)",
            Kind::Float64 => "float64",
            Kind::Date32 => "date32",
            Kind::Utf8List => "list<utf8>",
        }
    }
}

/// One row's value in one column, borrowed from the row where it can be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Str(&'a str),
    OptStr(Option<&'a str>),
    I32(i32),
    I64(i64),
    Money(Pence),
    OptMoney(Option<Pence>),
    OptF64(Option<f64>),
    Year(FinancialYear),
    OptYear(Option<FinancialYear>),
    OptDate(Option<Date>),
    StrList(&'a [String]),
}

/// One column of a table of rows `R`.
pub struct Column<R: 'static> {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// What the column means, for people (README, `datapackage.json`).
    pub doc: &'static str,
    pub get: for<'a> fn(&'a R) -> Cell<'a>,
}

/// One output table.
pub struct TableDef<R: 'static> {
    /// The file (or folder) name without extension, and `bcf.table` in its metadata.
    pub name: &'static str,
    pub title: &'static str,
    pub columns: &'static [Column<R>],
    /// Columns that identify a row.
    pub primary_key: &'static [&'static str],
    /// A Hive partition column kept in folder names (`financial_year=2023-24/`), not in files.
    pub partition: Option<Partition<R>>,
}

pub struct Partition<R: 'static> {
    pub name: &'static str,
    pub doc: &'static str,
    pub get: fn(&R) -> FinancialYear,
}

/// What `datapackage.json` and the README need of a table, whatever its rows.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: &'static str,
    pub title: &'static str,
    pub columns: Vec<(&'static str, Kind, bool, &'static str)>,
    pub primary_key: &'static [&'static str],
    pub partition: Option<(&'static str, &'static str)>,
}

impl<R> TableDef<R> {
    pub fn describe(&self) -> Described {
        Described {
            name: self.name,
            title: self.title,
            columns: self.columns.iter().map(|c| (c.name, c.kind, c.nullable, c.doc)).collect(),
            primary_key: self.primary_key,
            partition: self.partition.as_ref().map(|p| (p.name, p.doc)),
        }
    }
}
