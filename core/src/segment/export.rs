//! Export: contacts' facts, or a segment's members, as rows with chosen
//! columns, written to a writer the caller hands in; and the ids of a static
//! segment read back from CSV.
//!
//! Columns are field paths as rules name them (`orders`, `revenue`,
//! `last_order_at`, `bought_categories.suits.spent`, see the table in the
//! [module docs](super)), plus `contact_id` and `as_of`. They are checked
//! when the export is set up ([`Export::new`]): an unknown column is a typed
//! error naming the nearest known one, as in rules. Values are read exactly
//! as rules read them.
//!
//! | format | shape |
//! |---|---|
//! | [`Format::Csv`] | RFC 4180: a header row of column names, CRLF line ends, fields quoted when they hold `,`, `"`, CR or LF; text starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (see [`Export::escape_formulas`]) |
//! | [`Format::Json`] | an array of objects, one object a line, keys the column names |
//! | [`Format::Ndjson`] | one object a line (newline-delimited JSON) |
//! | [`Format::Xml`] | `<contacts><contact><field name="orders">3</field>...</contact></contacts>` |
//! | [`Format::Xlsx`] | one sheet `contacts`: a bold header row, numbers as numbers, times and dates as Excel dates with a format, text as text |
//!
//! Values: numbers in their shortest form that reads back to the same
//! number (`180000`, `0.1`, `1e-7`), times as RFC 3339 in UTC
//! (`2024-06-20T10:00:00Z`), dates as `YYYY-MM-DD`, `true` / `false`. A value
//! the contact does not have is an empty CSV field, a JSON `null`, a missing
//! XML `field` element and an empty xlsx cell.
//!
//! Output streams: one row is built, written and dropped before the next, so
//! memory does not grow with the number of contacts. xlsx is the exception:
//! the sheet is held in memory (at most 1,048,575 rows, Excel's limit) and
//! compressed into the writer at the end, so that the core opens no file of
//! its own. An error stops the export where it happened: the writer then
//! holds a partial output.
//!
//! ```
//! use patron::segment::{export, export_segment, read_ids, Format, Registry};
//! use patron::{model::Timestamp, parse, profile};
//!
//! let events: Vec<patron::Event> = parse::list_from_json(r#"[
//!   {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-03T10:00:00Z", "order_id": "o1",
//!    "lines": [{"product_id": "suit-9", "quantity": 1, "unit_price": 1800.5, "category_id": "suits"}],
//!    "total": 1800.5, "currency": "EUR"},
//!   {"type": "product_viewed", "id": "e2", "contact_id": "ben", "at": "2024-06-05T10:00:00Z", "product_id": "suit-9"}
//! ]"#)?;
//! let facts = profile::facts_all(&profile::build(&events)?, Timestamp::parse("2024-06-20T00:00:00Z")?, None)?;
//!
//! let csv = export(&facts, &["contact_id", "orders", "revenue", "last_order_at"], Format::Csv, Vec::new())?;
//! assert_eq!(String::from_utf8(csv).unwrap(),
//!     "contact_id,orders,revenue,last_order_at\r\nanna,1,1800.5,2024-06-03T10:00:00Z\r\nben,0,0,\r\n");
//!
//! // Only the members of one segment, as NDJSON.
//! let segments = Registry::from_json(r#"{"buyers": "orders >= 1"}"#)?;
//! let format: Format = "ndjson".parse()?;
//! let out = export_segment(&segments, "buyers", &facts, &["contact_id", "revenue"], format, Vec::new())?;
//! assert_eq!(String::from_utf8(out).unwrap(), "{\"contact_id\":\"anna\",\"revenue\":1800.5}\n");
//!
//! // A static segment's ids, from a CSV with a header.
//! let ids = read_ids("email,contact_id\r\nx@example.com,anna\r\n".as_bytes(), "contact_id")?;
//! assert_eq!(ids, ["anna"]);
//!
//! // A typo in a column is caught before anything is written.
//! let err = export(&facts, &["revenu"], Format::Csv, Vec::new()).unwrap_err();
//! assert_eq!(err.path(), Some("columns[0]"));
//! assert!(err.to_string().contains("did you mean `revenue`?"));
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::str::FromStr;

use serde_json::{Number, Value};

use super::read::{Field as Path, Val};
use super::{Kind, Registry, fields};
use crate::error::{Error, Location, Result};
use crate::model::scalar::Id;
use crate::profile::Facts;
use crate::suggest::nearest;

/// An output format; its name (`csv`, `json`, `ndjson`, `xml`, `xlsx`) reads
/// with [`str::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values (RFC 4180), with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// Newline-delimited JSON: one object a line.
    Ndjson,
    /// XML: `<contacts>` of `<contact>` of `<field name="...">`.
    Xml,
    /// An Excel workbook (Office Open XML).
    Xlsx,
}

const FORMATS: [(&str, Format); 5] = [
    ("csv", Format::Csv),
    ("json", Format::Json),
    ("ndjson", Format::Ndjson),
    ("xml", Format::Xml),
    ("xlsx", Format::Xlsx),
];

impl Format {
    /// Every format, in the order of the docs.
    pub const ALL: [Format; 5] = [
        Format::Csv,
        Format::Json,
        Format::Ndjson,
        Format::Xml,
        Format::Xlsx,
    ];

    /// The format's name, which is also the usual file extension.
    pub fn name(self) -> &'static str {
        FORMATS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    /// The media type to send the output with.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Xml => "application/xml",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Reads a format's name (lower case); an unknown name is a validation
    /// error at `format` naming the nearest format.
    fn from_str(name: &str) -> Result<Format> {
        if let Some((_, f)) = FORMATS.iter().find(|(n, _)| *n == name) {
            return Ok(*f);
        }
        let hint = nearest(name, FORMATS.iter().map(|(n, _)| *n))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Err(Error::invalid(
            "format",
            format!("unknown format `{name}`{hint} (expected csv, json, ndjson, xml or xlsx)"),
        ))
    }
}

/// Columns an export has besides the fields rules use.
const EXTRA_COLUMNS: [(&str, Kind); 2] = [("contact_id", Kind::Text), ("as_of", Kind::Time)];

fn column_kind(path: &str) -> std::result::Result<Kind, String> {
    if let Some((_, kind)) = EXTRA_COLUMNS.iter().find(|(n, _)| *n == path) {
        return Ok(*kind);
    }
    fields::kind_of(path).map_err(|message| {
        match nearest(path, EXTRA_COLUMNS.iter().map(|(n, _)| *n)) {
            Some(n) => format!("unknown field `{path}`; did you mean `{n}`?"),
            None => message,
        }
    })
}

/// Reads a list of column names from a JSON value (the bindings' input);
/// errors name the item: `columns[2]`.
pub fn columns_from_value(value: Value) -> Result<Vec<String>> {
    let Value::Array(items) = value else {
        return Err(Error::invalid(
            "columns",
            "expected a list of field names such as [\"contact_id\", \"orders\"]",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s),
            other => Err(Error::invalid(
                format!("columns[{i}]"),
                format!(
                    "expected a field name, got {}",
                    crate::parse::kind_name(&other)
                ),
            )),
        })
        .collect()
}

/// A checked export: the columns and their kinds, the format, and options.
/// Build it once, write any number of times.
#[derive(Clone, Debug)]
pub struct Export {
    columns: Vec<String>,
    fields: Vec<Path>,
    kinds: Vec<Kind>,
    format: Format,
    escape_formulas: bool,
}

impl Export {
    /// Checks the columns: at least one, each a known field path (an
    /// unknown one names the nearest, at `columns[i]`), none twice.
    pub fn new<S: AsRef<str>>(columns: &[S], format: Format) -> Result<Export> {
        if columns.is_empty() {
            return Err(Error::invalid("columns", "expected at least one column"));
        }
        let mut names: Vec<String> = Vec::with_capacity(columns.len());
        let mut kinds = Vec::with_capacity(columns.len());
        let mut fields = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let column = column.as_ref();
            let at = format!("columns[{i}]");
            let kind = column_kind(column).map_err(|m| Error::invalid(&at, m))?;
            if let Some(first) = names.iter().position(|n| n == column) {
                return Err(Error::invalid(
                    &at,
                    format!("column `{column}` is already columns[{first}]"),
                ));
            }
            let field = Path::resolve(column).map_err(|m| Error::invalid(&at, m))?;
            names.push(column.to_string());
            fields.push(field);
            kinds.push(kind);
        }
        Ok(Export {
            columns: names,
            fields,
            kinds,
            format,
            escape_formulas: true,
        })
    }

    /// CSV only: whether text that a spreadsheet would run as a formula
    /// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`,
    /// which Excel and LibreOffice show as plain text. On by default, as
    /// OWASP advises for files people open in a spreadsheet; a plain number
    /// such as a phone `+4930123` or `-5` is left alone, as spreadsheets read
    /// it as a number, not a formula. Turn it off for files that programs
    /// read back ([`read_ids`] does not undo the `'`). The other formats
    /// need no escape: JSON, NDJSON and XML are data, and xlsx cells are
    /// written as strings, which Excel never evaluates.
    pub fn escape_formulas(mut self, on: bool) -> Export {
        self.escape_formulas = on;
        self
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes every contact's row, in input order, and hands the writer
    /// back (flushed). `Send` because the xlsx writer requires it
    /// (`rust_xlsxwriter::Workbook::save_to_writer`); every owned writer of
    /// the standard library (a `File`, a `Vec<u8>`, `io::stdout()`) and a
    /// `&mut` to one is `Send`.
    pub fn write<'a, W: Write + Send>(
        &self,
        rows: impl IntoIterator<Item = &'a Facts>,
        mut writer: W,
    ) -> Result<W> {
        match self.format {
            Format::Xlsx => self.write_xlsx(rows.into_iter(), &mut writer)?,
            _ => self.write_text(rows.into_iter(), &mut writer)?,
        }
        Ok(writer)
    }

    /// Writes the rows of the members of segment `name` only (an unknown
    /// name is an error at `name`, before anything is written).
    pub fn write_segment<'a, W: Write + Send>(
        &self,
        registry: &Registry,
        name: &str,
        rows: impl IntoIterator<Item = &'a Facts>,
        writer: W,
    ) -> Result<W> {
        // An unknown name is refused before anything is written, at `name`.
        if let Err(e) = registry.get(name) {
            return Err(Error::invalid("name", e.reason()));
        }
        // A member test that fails (it cannot, once the registry is
        // checked) stops the export with its error.
        let mut failed = None;
        let members = rows.into_iter().filter(|facts| {
            failed.is_none()
                && match registry.contains(name, facts) {
                    Ok(inside) => inside,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
        });
        let writer = self.write(members, writer)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(writer),
        }
    }

    fn values(&self, facts: &Facts) -> Vec<Option<Value>> {
        self.fields
            .iter()
            .map(|field| field.read(facts).map(Val::to_json))
            .collect()
    }

    fn write_text<'a, W: Write>(
        &self,
        rows: impl Iterator<Item = &'a Facts>,
        writer: &mut W,
    ) -> Result<()> {
        let io = |e: io::Error| Error::io("writing the export", &e);
        let mut out = BufWriter::with_capacity(64 * 1024, writer);
        let mut first = true;
        self.text_start(&mut out).map_err(io)?;
        for facts in rows {
            let values = self.values(facts);
            let cells: Vec<Cell<'_>> = values
                .iter()
                .zip(&self.kinds)
                .map(|(v, k)| Cell::of(v.as_ref(), *k))
                .collect();
            self.text_row(&mut out, &cells, first).map_err(io)?;
            first = false;
        }
        self.text_end(&mut out, first).map_err(io)?;
        out.flush().map_err(io)
    }

    fn text_start(&self, out: &mut impl Write) -> io::Result<()> {
        match self.format {
            Format::Csv => {
                for (i, name) in self.columns.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    csv_field(out, name)?;
                }
                out.write_all(b"\r\n")
            }
            Format::Xml => {
                out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<contacts>\n")
            }
            Format::Json | Format::Ndjson | Format::Xlsx => Ok(()),
        }
    }

    fn text_row(&self, out: &mut impl Write, cells: &[Cell<'_>], first: bool) -> io::Result<()> {
        match self.format {
            Format::Csv => {
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    match cell {
                        Cell::Missing => {}
                        Cell::Text(s) if self.escape_formulas && runs_as_formula(s) => {
                            csv_field(out, &format!("'{s}"))?
                        }
                        other => csv_field(out, &other.text())?,
                    }
                }
                out.write_all(b"\r\n")
            }
            Format::Json | Format::Ndjson => {
                if self.format == Format::Json {
                    out.write_all(if first { b"[\n" } else { b",\n" })?;
                }
                out.write_all(b"{")?;
                for (i, (name, cell)) in self.columns.iter().zip(cells).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    json_string(out, name)?;
                    out.write_all(b":")?;
                    match cell {
                        Cell::Missing => out.write_all(b"null")?,
                        Cell::Number(n) => out.write_all(number_text(n).as_bytes())?,
                        Cell::Bool(b) => out.write_all(if *b { b"true" } else { b"false" })?,
                        Cell::Text(s) | Cell::Time(s) | Cell::Date(s) => json_string(out, s)?,
                        Cell::Other(v) => serde_json::to_writer(&mut *out, v)?,
                    }
                }
                out.write_all(b"}")?;
                if self.format == Format::Ndjson {
                    out.write_all(b"\n")?;
                }
                Ok(())
            }
            Format::Xml => {
                out.write_all(b"  <contact>")?;
                for (name, cell) in self.columns.iter().zip(cells) {
                    if matches!(cell, Cell::Missing) {
                        continue;
                    }
                    out.write_all(b"<field name=\"")?;
                    xml_escape(out, name, true)?;
                    out.write_all(b"\">")?;
                    xml_escape(out, &cell.text(), false)?;
                    out.write_all(b"</field>")?;
                }
                out.write_all(b"</contact>\n")
            }
            Format::Xlsx => Ok(()),
        }
    }

    fn text_end(&self, out: &mut impl Write, empty: bool) -> io::Result<()> {
        match self.format {
            Format::Json => out.write_all(if empty { b"[]\n" } else { b"\n]\n" }),
            Format::Xml => out.write_all(b"</contacts>\n"),
            Format::Csv | Format::Ndjson | Format::Xlsx => Ok(()),
        }
    }

    fn write_xlsx<'a, W: Write + Send>(
        &self,
        rows: impl Iterator<Item = &'a Facts>,
        writer: &mut W,
    ) -> Result<()> {
        use rust_xlsxwriter::{Format as CellFormat, Workbook};
        // Excel's last row is 1,048,576; the header takes one.
        const MAX_ROWS: u32 = 1_048_575;
        let mut workbook = Workbook::new();
        let bold = CellFormat::new().set_bold();
        let time = CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let date = CellFormat::new().set_num_format("yyyy-mm-dd");
        // The sheet is held in memory until the zip is written: the core
        // opens no file of its own (rust_xlsxwriter's constant-memory mode
        // would stream rows through a temporary file).
        let sheet = workbook.add_worksheet();
        sheet.set_name("contacts").map_err(xlsx_error)?;
        for (col, (name, kind)) in self.columns.iter().zip(&self.kinds).enumerate() {
            let col = col as u16;
            let width = match kind {
                Kind::Time => 20.0,
                _ => (name.chars().count() as f64 + 2.0).clamp(10.0, 40.0),
            };
            sheet.set_column_width(col, width).map_err(xlsx_error)?;
            sheet
                .write_string_with_format(0, col, name, &bold)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        let mut row: u32 = 0;
        for facts in rows {
            if row == MAX_ROWS {
                return Err(Error::invalid(
                    "facts",
                    format!("an xlsx sheet holds at most {MAX_ROWS} contacts; export as csv"),
                ));
            }
            row += 1;
            let values = self.values(facts);
            for (col, (value, kind)) in values.iter().zip(&self.kinds).enumerate() {
                let col = col as u16;
                let at = |e| xlsx_error(e).within(&format!("facts[{}]", row - 1));
                match Cell::of(value.as_ref(), *kind) {
                    Cell::Missing => {}
                    Cell::Number(n) => {
                        sheet
                            .write_number(row, col, n.as_f64().unwrap_or(f64::NAN))
                            .map_err(at)?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(row, col, b).map_err(at)?;
                    }
                    Cell::Time(s) => match excel_serial(s) {
                        Some(serial) => {
                            sheet
                                .write_number_with_format(row, col, serial, &time)
                                .map_err(at)?;
                        }
                        None => {
                            sheet.write_string(row, col, s).map_err(at)?;
                        }
                    },
                    Cell::Date(s) => match excel_serial(&format!("{s}T00:00:00Z")) {
                        Some(serial) => {
                            sheet
                                .write_number_with_format(row, col, serial, &date)
                                .map_err(at)?;
                        }
                        None => {
                            sheet.write_string(row, col, s).map_err(at)?;
                        }
                    },
                    cell @ (Cell::Text(_) | Cell::Other(_)) => {
                        sheet.write_string(row, col, cell.text()).map_err(at)?;
                    }
                }
            }
        }
        let mut out = BufWriter::with_capacity(64 * 1024, writer);
        workbook.save_to_writer(&mut out).map_err(xlsx_error)?;
        // Flushed here: a BufWriter dropped unflushed loses its error.
        out.flush()
            .map_err(|e| Error::io("writing the xlsx export", &e))
    }
}

/// Writes the rows of `columns` for every contact in `rows`, in `format`,
/// to `writer`, and hands the writer back. CSV escapes formulas (see
/// [`Export::escape_formulas`]); build an [`Export`] to change that.
pub fn export<'a, S: AsRef<str>, W: Write + Send>(
    rows: impl IntoIterator<Item = &'a Facts>,
    columns: &[S],
    format: Format,
    writer: W,
) -> Result<W> {
    Export::new(columns, format)?.write(rows, writer)
}

/// As [`export`], for the members of segment `name` only.
pub fn export_segment<'a, S: AsRef<str>, W: Write + Send>(
    registry: &Registry,
    name: &str,
    rows: impl IntoIterator<Item = &'a Facts>,
    columns: &[S],
    format: Format,
    writer: W,
) -> Result<W> {
    Export::new(columns, format)?.write_segment(registry, name, rows, writer)
}

/// One value as it goes out.
enum Cell<'a> {
    Missing,
    Number(&'a Number),
    Text(&'a str),
    Bool(bool),
    Time(&'a str),
    Date(&'a str),
    Other(&'a Value),
}

impl<'a> Cell<'a> {
    fn of(value: Option<&'a Value>, kind: Kind) -> Cell<'a> {
        match (value, kind) {
            (None | Some(Value::Null), _) => Cell::Missing,
            (Some(Value::Number(n)), _) => Cell::Number(n),
            (Some(Value::Bool(b)), _) => Cell::Bool(*b),
            (Some(Value::String(s)), Kind::Time) => Cell::Time(s),
            (Some(Value::String(s)), Kind::Date) => Cell::Date(s),
            (Some(Value::String(s)), _) => Cell::Text(s),
            (Some(other), _) => Cell::Other(other),
        }
    }

    /// The value as text (CSV, XML, an xlsx string).
    fn text(&self) -> std::borrow::Cow<'a, str> {
        match self {
            Cell::Missing => "".into(),
            Cell::Number(n) => number_text(n).into(),
            Cell::Bool(b) => if *b { "true" } else { "false" }.into(),
            Cell::Text(s) | Cell::Time(s) | Cell::Date(s) => (*s).into(),
            Cell::Other(v) => v.to_string().into(),
        }
    }
}

/// A number in its shortest form that reads back the same: integers without
/// a fraction, others as Rust's shortest round-trip form (`0.1`, `1e-7`).
fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let x = n.as_f64().unwrap_or(0.0);
    if x == 0.0 {
        "0".to_string()
    } else if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x}")
    } else {
        format!("{x:?}")
    }
}

/// Whether a spreadsheet would run this text as a formula: it starts with
/// `=`, `+`, `-`, `@`, tab or CR and is not a plain number.
pub(crate) fn runs_as_formula(s: &str) -> bool {
    let Some(first) = s.bytes().next() else {
        return false;
    };
    if !matches!(first, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') {
        return false;
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    !plain
}

fn csv_field(out: &mut impl Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

fn json_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::from)
}

/// Escapes text for XML 1.0: `&`, `<`, `>` always, `"` in attributes, CR
/// (and tab and LF in attributes) as character references so they survive
/// a parser's normalization; characters XML 1.0 cannot hold at all (other
/// C0 controls, U+FFFE, U+FFFF) become U+FFFD.
fn xml_escape(out: &mut impl Write, s: &str, attribute: bool) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let replacement: &str = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' if attribute => "&quot;",
            '\r' => "&#13;",
            '\n' if attribute => "&#10;",
            '\t' if attribute => "&#9;",
            '\t' | '\n' => continue,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => "\u{fffd}",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[start..i])?;
        out.write_all(replacement.as_bytes())?;
        start = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[start..])
}

/// An RFC 3339 time as an Excel serial date (days since 1899-12-30, UTC);
/// `None` before 1900-03-01, where Excel's calendar is off by its 1900 leap
/// day (such a time is written as text).
fn excel_serial(text: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let millis = t.timestamp_millis();
    // 1900-03-01T00:00:00Z
    if millis < -2_203_891_200_000 {
        return None;
    }
    Some(millis as f64 / 86_400_000.0 + 25_569.0)
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    use rust_xlsxwriter::XlsxError;
    match e {
        XlsxError::IoError(e) => Error::io("writing the xlsx export", &e),
        XlsxError::MaxStringLengthExceeded => Error::invalid(
            "",
            "an xlsx cell holds at most 32,767 characters; export as csv",
        ),
        other => Error::Io {
            message: format!("writing the xlsx export failed: {other}"),
        },
    }
}

/// Reads the ids of a static segment from CSV text with a header row: the
/// values of the column named `column` (the first column whose name matches
/// after trimming spaces), in file order.
///
/// The CSV is RFC 4180: fields separated by `,`, records by CRLF or LF,
/// fields in `"` may hold commas, line breaks and `""` for a quote; a UTF-8
/// byte-order mark is skipped and blank lines are ignored. Ids are kept
/// exactly as written (spaces included) and checked as any id is
/// (non-empty, at most 256 bytes, no control characters). Errors carry the
/// line and column (1-based, in characters) and say what is wrong:
///
/// - no column of that name (at `column`; the header's names are listed,
///   with the nearest);
/// - a quoted field that never closes (where it opens), or text after a
///   closing quote;
/// - a row without the column, an empty id, or one that is not a valid id;
/// - an id given twice (both lines).
///
/// It reads as it goes; only the ids are kept.
pub fn read_ids<R: Read>(mut reader: R, column: &str) -> Result<Vec<String>> {
    // A UTF-8 byte-order mark (EF BB BF) is not text.
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("reading the ids", &e)),
        }
    }
    let skip = if head[..n] == [0xef, 0xbb, 0xbf] {
        3
    } else {
        0
    };
    let mut csv = CsvReader::new(io::Cursor::new(head[skip..n].to_vec()).chain(reader));
    let Some(header) = csv.record()? else {
        return Err(at(1, 1, "column", "expected a header row, got no text"));
    };
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .collect();
    let index = names
        .iter()
        .position(|n| n == column)
        .or_else(|| names.iter().position(|n| n.trim() == column.trim()));
    let Some(index) = index else {
        let hint = nearest(column, names.iter().map(|n| n.trim()))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let mut listed: Vec<String> = names.iter().take(10).map(|n| format!("`{n}`")).collect();
        if names.len() > 10 {
            listed.push(format!("and {} more", names.len() - 10));
        }
        return Err(at(
            header[0].line,
            header[0].column,
            "column",
            format!(
                "no column `{column}` in the header ({}){hint}",
                listed.join(", ")
            ),
        ));
    };
    let mut ids = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    while let Some(record) = csv.record()? {
        let Some(field) = record.get(index) else {
            let last = &record[record.len() - 1];
            return Err(at(
                last.line,
                last.column,
                "",
                format!(
                    "the row has {} field(s) and no `{column}` (column {} of the header)",
                    record.len(),
                    index + 1
                ),
            ));
        };
        let Ok(text) = String::from_utf8(field.bytes.clone()) else {
            return Err(at(field.line, field.column, "", "the id is not UTF-8 text"));
        };
        if text.trim().is_empty() {
            return Err(at(
                field.line,
                field.column,
                "",
                format!("empty `{column}`"),
            ));
        }
        if let Err(e) = Id::new(&text) {
            return Err(at(field.line, field.column, "", e.reason()));
        }
        if let Some(first) = seen.get(&text) {
            return Err(at(
                field.line,
                field.column,
                "",
                format!("id `{text}` is given twice: on line {first} and here"),
            ));
        }
        seen.insert(text.clone(), field.line);
        ids.push(text);
    }
    Ok(ids)
}

fn at(line: usize, column: usize, path: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::Validation {
        path: path.to_string(),
        message: format!("line {line}, column {column}: {message}"),
        location: Some(Location { line, column }),
    }
}

struct Field {
    bytes: Vec<u8>,
    line: usize,
    column: usize,
}

/// A byte-at-a-time RFC 4180 reader that knows its line and column.
struct CsvReader<R: Read> {
    bytes: io::Bytes<BufReader<R>>,
    peeked: Option<u8>,
    line: usize,
    column: usize,
}

impl<R: Read> CsvReader<R> {
    fn new(reader: R) -> Self {
        CsvReader {
            bytes: BufReader::with_capacity(64 * 1024, reader).bytes(),
            peeked: None,
            line: 1,
            column: 1,
        }
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        if self.peeked.is_none() {
            self.peeked = match self.bytes.next() {
                None => None,
                Some(Ok(b)) => Some(b),
                Some(Err(e)) => return Err(Error::io("reading the ids", &e)),
            };
        }
        Ok(self.peeked)
    }

    fn bump(&mut self) -> Result<Option<u8>> {
        let b = self.peek()?;
        self.peeked = None;
        match b {
            Some(b'\n') => {
                self.line += 1;
                self.column = 1;
            }
            // CR LF is one line end, counted at the LF; a lone CR is one too.
            Some(b'\r') => {
                if self.peek()? == Some(b'\n') {
                    self.column += 1;
                } else {
                    self.line += 1;
                    self.column = 1;
                }
            }
            // A UTF-8 continuation byte is part of the character before it.
            Some(b) if b & 0xc0 == 0x80 => {}
            Some(_) => self.column += 1,
            None => {}
        }
        Ok(b)
    }

    /// The next record that is not a blank line; `None` at the end.
    fn record(&mut self) -> Result<Option<Vec<Field>>> {
        loop {
            if self.peek()?.is_none() {
                return Ok(None);
            }
            let record = self.fields()?;
            let blank = record.len() == 1 && record[0].bytes.is_empty();
            if !blank {
                return Ok(Some(record));
            }
        }
    }

    fn fields(&mut self) -> Result<Vec<Field>> {
        let mut record = Vec::new();
        loop {
            let (line, column) = (self.line, self.column);
            let mut bytes = Vec::new();
            if self.peek()? == Some(b'"') {
                self.bump()?;
                loop {
                    match self.bump()? {
                        None => {
                            return Err(at(
                                line,
                                column,
                                "",
                                "a quoted field opens here and never closes",
                            ));
                        }
                        Some(b'"') if self.peek()? == Some(b'"') => {
                            self.bump()?;
                            bytes.push(b'"');
                        }
                        Some(b'"') => break,
                        Some(b) => bytes.push(b),
                    }
                }
                match self.peek()? {
                    None | Some(b',' | b'\r' | b'\n') => {}
                    Some(_) => {
                        return Err(at(
                            self.line,
                            self.column,
                            "",
                            "expected `,` or a line end after a closing quote (write a quote inside a quoted field as `\"\"`)",
                        ));
                    }
                }
            } else {
                while let Some(b) = self.peek()? {
                    if matches!(b, b',' | b'\r' | b'\n') {
                        break;
                    }
                    self.bump()?;
                    bytes.push(b);
                }
            }
            record.push(Field {
                bytes,
                line,
                column,
            });
            match self.bump()? {
                Some(b',') => continue,
                Some(b'\r') if self.peek()? == Some(b'\n') => {
                    self.bump()?;
                    return Ok(record);
                }
                _ => return Ok(record),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Vec<Facts> {
        crate::parse::list_from_value(json!([
            {"contact_id": "anna", "as_of": "2024-07-01T00:00:00Z", "orders": 4, "revenue": 212000.5,
             "cancelled_orders": 0, "returned_orders": 0, "purchase_days": 4, "at_risk": false,
             "currency": "RUB", "last_order_at": "2024-06-20T10:00:00Z", "next_order_expected": "2024-07-20",
             "bought_categories": {"suits": {"orders": 1, "quantity": 1, "spent": 180000,
                 "first_at": "2024-06-20T10:00:00Z", "last_at": "2024-06-20T10:00:00Z"}}},
            {"contact_id": "=cmd|' /C calc'!A0", "as_of": "2024-07-01T00:00:00Z", "orders": 0, "revenue": 0,
             "cancelled_orders": 0, "returned_orders": 0, "purchase_days": 0, "at_risk": true},
            {"contact_id": "a \"quoted\", <tagged> & co next", "as_of": "2024-07-01T00:00:00Z", "orders": 1,
             "revenue": 0.1, "cancelled_orders": 0, "returned_orders": 0, "purchase_days": 1, "at_risk": false}
        ]))
        .unwrap()
    }

    fn text(columns: &[&str], format: Format) -> String {
        String::from_utf8(export(&facts(), columns, format, Vec::new()).unwrap()).unwrap()
    }

    const COLUMNS: [&str; 5] = [
        "contact_id",
        "orders",
        "revenue",
        "last_order_at",
        "bought_categories.suits.spent",
    ];

    #[test]
    fn csv_quotes_escapes_formulas_and_leaves_missing_empty() {
        assert_eq!(
            text(&COLUMNS, Format::Csv),
            "contact_id,orders,revenue,last_order_at,bought_categories.suits.spent\r\n\
             anna,4,212000.5,2024-06-20T10:00:00Z,180000\r\n\
             '=cmd|' /C calc'!A0,0,0,,\r\n\
             \"a \"\"quoted\"\", <tagged> & co next\",1,0.1,,\r\n"
        );
        let raw = Export::new(&["contact_id"], Format::Csv)
            .unwrap()
            .escape_formulas(false)
            .write(&facts()[1..2], Vec::new())
            .unwrap();
        assert_eq!(raw, b"contact_id\r\n=cmd|' /C calc'!A0\r\n");
    }

    #[test]
    fn formulas_are_told_from_plain_numbers() {
        for s in [
            "=1+2", "+7 999", "-", "@SUM(A1)", "\tx", "\r1", "+", "-1e5", "1+",
        ] {
            assert_eq!(runs_as_formula(s), !s.starts_with('1'), "{s:?}");
        }
        for s in ["+4930123", "-5", "-0.25", "anna", "", "5"] {
            assert!(!runs_as_formula(s), "{s:?}");
        }
    }

    #[test]
    fn json_and_ndjson_parse_back() {
        let json = text(&COLUMNS, Format::Json);
        let rows: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 3);
        assert_eq!(
            rows[0],
            json!({"contact_id": "anna", "orders": 4, "revenue": 212000.5,
                   "last_order_at": "2024-06-20T10:00:00Z", "bought_categories.suits.spent": 180000})
        );
        assert_eq!(rows[1]["last_order_at"], Value::Null);
        assert_eq!(
            rows[1]["contact_id"], "=cmd|' /C calc'!A0",
            "no escape in JSON"
        );
        let ndjson = text(&COLUMNS, Format::Ndjson);
        let lines: Vec<Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(Value::Array(lines), rows);
        let empty = export(&[] as &[Facts], &["orders"], Format::Json, Vec::new()).unwrap();
        assert_eq!(empty, b"[]\n");
    }

    #[test]
    fn xml_is_escaped_and_leaves_missing_out() {
        let xml = text(&["contact_id", "last_order_at", "at_risk"], Format::Xml);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<contacts>\n\
             \x20 <contact><field name=\"contact_id\">anna</field><field name=\"last_order_at\">2024-06-20T10:00:00Z</field><field name=\"at_risk\">false</field></contact>\n\
             \x20 <contact><field name=\"contact_id\">=cmd|' /C calc'!A0</field><field name=\"at_risk\">true</field></contact>\n\
             \x20 <contact><field name=\"contact_id\">a \"quoted\", &lt;tagged&gt; &amp; co next</field><field name=\"at_risk\">false</field></contact>\n\
             </contacts>\n"
        );
        let mut out = Vec::new();
        xml_escape(&mut out, "a\"b\tc\u{1}\u{fffe}", true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&quot;b&#9;c\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn numbers_take_their_shortest_form() {
        let n = |x: f64| number_text(&Number::from_f64(x).unwrap());
        assert_eq!(n(180000.0), "180000");
        assert_eq!(n(0.1), "0.1");
        assert_eq!(n(-0.0), "0");
        assert_eq!(n(1e-7), "1e-7");
        assert_eq!(n(1e300), "1e300");
        assert_eq!(n(2.5e15), "2500000000000000");
        assert_eq!(number_text(&Number::from(u64::MAX)), u64::MAX.to_string());
    }

    #[test]
    fn bad_setups_are_typed_errors_with_suggestions() {
        let e = Export::new(&["contact_id", "revenu"], Format::Csv).unwrap_err();
        assert_eq!((e.code(), e.path()), ("validation", Some("columns[1]")));
        assert!(e.to_string().contains("did you mean `revenue`?"), "{e}");
        let e = Export::new(&["contactid"], Format::Csv).unwrap_err();
        assert!(e.to_string().contains("did you mean `contact_id`?"), "{e}");
        let e = Export::new(&["bought_categories.suits.spnt"], Format::Csv).unwrap_err();
        assert!(
            e.to_string()
                .contains("did you mean `bought_categories.suits.spent`?"),
            "{e}"
        );
        let e = Export::new(&["orders", "orders"], Format::Csv).unwrap_err();
        assert_eq!(e.path(), Some("columns[1]"));
        let e = Export::new(&[] as &[&str], Format::Csv).unwrap_err();
        assert_eq!(e.path(), Some("columns"));
        let e = "xls".parse::<Format>().unwrap_err();
        assert_eq!(e.path(), Some("format"));
        assert!(e.to_string().contains("did you mean `xlsx`?"), "{e}");
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        let e = columns_from_value(json!(["orders", 3])).unwrap_err();
        assert_eq!(e.path(), Some("columns[1]"));
    }

    #[test]
    fn a_segment_exports_its_members_only() {
        let registry =
            Registry::from_json(r#"{"buyers": "orders >= 1", "vip": "revenue > 1000"}"#).unwrap();
        let out = export_segment(
            &registry,
            "buyers",
            &facts(),
            &["orders"],
            Format::Csv,
            Vec::new(),
        )
        .unwrap();
        assert_eq!(out, b"orders\r\n4\r\n1\r\n");
        let e = export_segment(
            &registry,
            "vp",
            &facts(),
            &["orders"],
            Format::Csv,
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("name"));
        assert!(e.to_string().contains("did you mean `vip`?"), "{e}");
    }

    #[test]
    fn write_errors_are_io_errors() {
        #[derive(Debug)]
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for format in Format::ALL {
            let Err(e) = export(&facts(), &["orders"], format, Broken) else {
                panic!("{format}: no error");
            };
            assert_eq!(e.code(), "io", "{format}: {e}");
            assert!(e.to_string().contains("pipe closed"), "{format}: {e}");
        }
    }

    #[test]
    fn xlsx_is_a_workbook_with_one_row_per_contact() {
        let bytes = export(
            &facts(),
            &[
                "contact_id",
                "orders",
                "last_order_at",
                "next_order_expected",
                "at_risk",
            ],
            Format::Xlsx,
            Vec::new(),
        )
        .unwrap();
        let mut zip = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        zip.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        assert_eq!(sheet.matches("<row ").count(), 4, "{sheet}");
        // Text as text (never a formula), numbers as numbers, times as serial dates.
        let mut strings = String::new();
        zip.by_name("xl/sharedStrings.xml")
            .unwrap()
            .read_to_string(&mut strings)
            .unwrap();
        assert!(strings.contains("<t>anna</t>"), "{strings}");
        assert!(sheet.contains("t=\"s\""), "{sheet}");
        assert!(!sheet.contains("<f>"), "{sheet}");
        assert!(sheet.contains("<v>4</v>"), "{sheet}");
        let serial = excel_serial("2024-06-20T10:00:00Z").unwrap();
        assert!((serial - 45_463.416_666).abs() < 1e-5, "{serial}");
        assert!(sheet.contains("<v>45463.41666"), "{sheet}");
        assert!(sheet.contains("<v>45493</v>"), "a date: {sheet}");
        assert!(sheet.contains("t=\"b\""), "a boolean: {sheet}");
        let mut workbook = String::new();
        zip.by_name("xl/workbook.xml")
            .unwrap()
            .read_to_string(&mut workbook)
            .unwrap();
        assert!(workbook.contains("name=\"contacts\""), "{workbook}");
    }

    fn ids(text: &str) -> Result<Vec<String>> {
        read_ids(text.as_bytes(), "contact_id")
    }

    #[test]
    fn ids_read_rfc_4180() {
        assert_eq!(
            ids("\u{feff}email,contact_id\r\nx@y.z,anna\r\n\r\n\"multi\r\nline\",\"b,\"\"o\"\"\"\nq,cleo")
                .unwrap(),
            ["anna", "b,\"o\"", "cleo"]
        );
        assert_eq!(ids("contact_id\n").unwrap(), Vec::<String>::new());
        assert_eq!(ids(" contact_id \n c1 \n").unwrap(), [" c1 "]);
    }

    #[test]
    fn id_errors_say_line_and_column() {
        let loc = |e: Error| {
            let l = e.location().unwrap();
            (l.line, l.column, e.to_string())
        };
        let (line, column, m) = loc(ids("id,contactid\n1,anna\n").unwrap_err());
        assert_eq!((line, column), (1, 1));
        assert!(m.contains("did you mean `contactid`?"), "{m}");
        assert!(m.contains("(`id`, `contactid`)"), "{m}");
        let (line, column, m) = loc(ids("n,contact_id\nä,\"anna\n").unwrap_err());
        assert_eq!((line, column), (2, 3), "{m}");
        assert!(m.contains("never closes"), "{m}");
        let (line, column, _) = loc(ids("contact_id\n\"a\"b\n").unwrap_err());
        assert_eq!((line, column), (2, 4));
        let (line, column, m) = loc(ids("n,contact_id\n1,anna\n2,\n").unwrap_err());
        assert_eq!((line, column), (3, 3));
        assert!(m.contains("empty `contact_id`"), "{m}");
        let (line, _, m) = loc(ids("n,contact_id\n1,anna\n2\n").unwrap_err());
        assert_eq!(line, 3);
        assert!(m.contains("no `contact_id`"), "{m}");
        let (line, column, m) = loc(ids("contact_id\nanna\nben\n\"anna\"\n").unwrap_err());
        assert_eq!((line, column), (4, 1));
        assert!(m.contains("on line 2 and here"), "{m}");
        let (line, _, m) = loc(ids("contact_id\n\"a\u{1}\"\n").unwrap_err());
        assert_eq!(line, 2);
        assert!(m.contains("control"), "{m}");
        let e = ids("").unwrap_err();
        assert_eq!(e.path(), Some("column"));
    }
}
