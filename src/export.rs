//! Tables for the admin exports, written as CSV (UTF-8 with BOM, so Excel
//! opens Chinese correctly) or as an Excel workbook (xlsx).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Cell::Empty)
    }
}

/// A sheet: its name, headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub sheet: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(spec: (&str, &[&str])) -> Table {
        Table {
            sheet: spec.0.to_string(),
            headers: spec.1.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// CSV (RFC 4180, CRLF) with a UTF-8 BOM.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from("\u{feff}");
        let line = |out: &mut String, fields: &mut dyn Iterator<Item = String>| {
            let mut first = true;
            for f in fields {
                if !first {
                    out.push(',');
                }
                first = false;
                // A leading = + - @ would be a formula in Excel: quote it as text.
                let risky = f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err();
                if risky {
                    out.push_str("\"'");
                    out.push_str(&f.replace('"', "\"\""));
                    out.push('"');
                } else if f.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&f.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(&f);
                }
            }
            out.push_str("\r\n");
        };
        line(&mut out, &mut self.headers.iter().cloned());
        for r in &self.rows {
            line(
                &mut out,
                &mut r.iter().map(|c| match c {
                    Cell::Text(s) => s.clone(),
                    Cell::Int(n) => n.to_string(),
                    Cell::Float(x) => format!("{x:.2}"),
                    Cell::Empty => String::new(),
                }),
            );
        }
        out.into_bytes()
    }

    /// An xlsx workbook of one sheet, bold headers, frozen header row.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(&self.sheet)?;
        let bold = Format::new().set_bold();
        for (c, h) in self.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
            sheet.set_column_width(c as u16, if h.len() > 9 { 24 } else { 12 })?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (i, r) in self.rows.iter().enumerate() {
            let row = i as u32 + 1;
            for (c, cell) in r.iter().enumerate() {
                let col = c as u16;
                match cell {
                    Cell::Text(s) => {
                        sheet.write_string(row, col, s)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(row, col, *n as f64)?;
                    }
                    Cell::Float(x) => {
                        sheet.write_number(row, col, (x * 100.0).round() / 100.0)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        book.save_to_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_bom() {
        let mut t = Table::new(("表", &["事项", "数"]));
        t.rows.push(vec!["修路,灯".into(), Cell::Int(3)]);
        t.rows.push(vec!["说\"好\"".into(), Cell::Empty]);
        t.rows.push(vec!["=1+1".into(), Cell::Float(4.5)]);
        let csv = String::from_utf8(t.to_csv()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}事项,数\r\n\"修路,灯\",3\r\n\"说\"\"好\"\"\",\r\n\"'=1+1\",4.50\r\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip() {
        let mut t = Table::new(("表", &["事项"]));
        t.rows.push(vec!["修路".into()]);
        let bytes = t.to_xlsx().unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
