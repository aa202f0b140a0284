//! A village's household registry as uploaded: a CSV (UTF-8 with or without
//! BOM, or GBK/GB18030 as Excel on Chinese Windows saves it) or an `.xlsx`
//! workbook (its first sheet). Header `姓名,小组,电话` (or
//! `name,subgroup,phone`; 小组 and 电话 may be left out). Any bad row fails
//! the whole file, naming its line and column; more than the row cap fails
//! it as too large.
//!
//! The work is linear: one pass over the records, duplicates found with a
//! set, and reading stops at the first row past the cap.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::domain::household::normalize_subgroup;
use crate::domain::phone::household_phone;

/// Most households one import takes (a large administrative village has a
/// few thousand; a file past this is refused as too large, not read on).
pub const MAX_ROWS: usize = 50_000;

/// The Content-Type of an `.xlsx` workbook.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// The word error reasons start with (`csv: line 7, column 小组: …`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// Tells an upload's format from its first bytes, then its Content-Type:
    /// a body starting with the zip signature `PK\x03\x04` is an `.xlsx`
    /// workbook whatever the header says (browsers label files by their
    /// extension, often wrongly); anything else is CSV, except that a body
    /// labelled as `.xlsx` must be one and an old binary `.xls` is refused
    /// with what to do instead.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Result<Format, ImportError> {
        if body.starts_with(b"PK\x03\x04") {
            return Ok(Format::Xlsx);
        }
        if body.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            return Err(ImportError::Invalid(
                "this is an old Excel .xls file; save it as .xlsx (Excel 工作簿) or as CSV".into(),
            ));
        }
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        if media.as_deref() == Some(XLSX_CONTENT_TYPE) {
            return Err(ImportError::Invalid(
                "the Content-Type says .xlsx but the body is no xlsx workbook (it does not start as a zip file)".into(),
            ));
        }
        Ok(Format::Csv)
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// More data rows than the cap: the whole file is refused.
    #[error("more than {max} households in one file; split it (by 小组, say) and import each part")]
    TooManyRows { max: usize },
    /// An `.xlsx` that unzips to more than [`MAX_XLSX_UNZIPPED`] bytes.
    #[error("the workbook unzips to more than {} MiB; a sheet of households is far smaller — save only the household sheet, or as CSV", MAX_XLSX_UNZIPPED >> 20)]
    TooBigUnzipped,
    /// A bad file or row; the reason names line and column where there is one.
    #[error("{0}")]
    Invalid(String),
}

/// One household row of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    /// The line (CSV) or row (xlsx) it came from, counting from 1.
    pub line: usize,
    pub name: String,
    /// Digits, or "" for none (see [`normalize_subgroup`]).
    pub subgroup: String,
    pub phone: Option<String>,
}

/// Reads an upload of `format` into household rows, at most `max_rows`.
pub fn parse(
    format: Format,
    body: &[u8],
    max_rows: usize,
) -> Result<Vec<HouseholdRow>, ImportError> {
    let mut rows = Rows::new(max_rows);
    match format {
        Format::Csv => read_csv(body, &mut rows)?,
        Format::Xlsx => read_xlsx(body, &mut rows)?,
    }
    rows.finish()
}

fn invalid(why: impl Into<String>) -> ImportError {
    ImportError::Invalid(why.into())
}

/// The text of a CSV: a UTF-8 BOM is dropped; UTF-8 is taken as it is;
/// anything else is read as GB18030 (a superset of GBK, what Excel on
/// Chinese Windows writes for "CSV"), and refused if it is not that either.
pub fn decode(raw: &[u8]) -> Result<Cow<'_, str>, ImportError> {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(raw)
        && enc != encoding_rs::UTF_8
    {
        return Err(invalid(
            "the file is UTF-16 (Excel's \"Unicode text\"); save it as CSV instead",
        ));
    }
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    if let Ok(text) = std::str::from_utf8(raw) {
        return Ok(Cow::Borrowed(text));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(raw);
    if had_errors {
        return Err(invalid(
            "the file is neither UTF-8 nor GBK/GB18030 text; save it as CSV (UTF-8 or the CSV Excel writes)",
        ));
    }
    Ok(text)
}

fn read_csv(raw: &[u8], rows: &mut Rows) -> Result<(), ImportError> {
    let text = decode(raw)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // Lines are counted here, walking the text once: the reader's own
    // count and offsets skip blank lines and stop short of a CRLF's LF.
    let bytes = text.as_bytes();
    let (mut at, mut line) = (0usize, 1usize);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                // The line breaks before the record: blank lines, a CRLF's LF.
                while let Some(b @ (b'\r' | b'\n')) = bytes.get(at) {
                    line += usize::from(*b == b'\n');
                    at += 1;
                }
                let first_line = line;
                let end = usize::try_from(reader.position().byte())
                    .unwrap_or(bytes.len())
                    .clamp(at, bytes.len());
                line += bytes[at..end].iter().filter(|b| **b == b'\n').count();
                at = end;
                rows.push(first_line, record.iter().map(str::to_string).collect())?;
            }
            Err(e) => {
                let line = e
                    .position()
                    .map_or_else(String::new, |p| format!("line {}: ", p.line()));
                return Err(invalid(format!("{line}not readable as CSV ({e})")));
            }
        }
    }
}

/// Most bytes an `.xlsx` upload may unzip to, all its parts together.
/// 50,000 households are under 15 MiB of sheet XML and shared strings;
/// calamine holds the shared strings in memory, so a zip bomb of a few
/// hundred KiB would otherwise take GiBs and minutes of a blocking thread.
pub const MAX_XLSX_UNZIPPED: u64 = 32 << 20;

/// Unzips every part of the workbook into nothing, counting: refused past
/// [`MAX_XLSX_UNZIPPED`]. The sizes a zip declares are not trusted.
fn check_unzipped(raw: &[u8]) -> Result<(), ImportError> {
    let bad = |e: &dyn std::fmt::Display| invalid(format!("not a readable .xlsx workbook ({e})"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(raw)).map_err(|e| bad(&e))?;
    let mut left = MAX_XLSX_UNZIPPED;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| bad(&e))?;
        let n = std::io::copy(
            &mut std::io::Read::take(part, left + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| bad(&e))?;
        left = left.checked_sub(n).ok_or(ImportError::TooBigUnzipped)?;
    }
    Ok(())
}

/// Reads the first sheet cell by cell (never the whole sheet at once), so
/// that a file past the cap stops being read at its first extra row.
fn read_xlsx(raw: &[u8], rows: &mut Rows) -> Result<(), ImportError> {
    use calamine::Reader;
    check_unzipped(raw)?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(raw))
        .map_err(|e| invalid(format!("not a readable .xlsx workbook ({e})")))?;
    let Some(sheet) = book.sheet_names().into_iter().next() else {
        return Err(invalid("the workbook has no sheet"));
    };
    let mut cells = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| invalid(format!("sheet {sheet:?} is not readable ({e})")))?;
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| invalid(format!("sheet {sheet:?} is not readable ({e})")))?
    {
        let (row, col) = cell.get_position();
        let text = cell_text(cell.get_value());
        if current.as_ref().is_some_and(|(r, _)| *r != row)
            && let Some((r, fields)) = current.take()
        {
            rows.push(r as usize + 1, fields)?;
        }
        let (_, fields) = current.get_or_insert_with(|| (row, Vec::new()));
        if text.is_empty() {
            continue;
        }
        let col = col as usize;
        if col >= rows.width_limit() {
            return Err(invalid(format!(
                "line {}, column {}: a value beyond the header's columns",
                row as usize + 1,
                col + 1
            )));
        }
        if fields.len() <= col {
            fields.resize(col + 1, String::new());
        }
        fields[col] = text;
    }
    if let Some((r, fields)) = current {
        rows.push(r as usize + 1, fields)?;
    }
    Ok(())
}

/// A cell as text. Numbers are written without a fraction when they have
/// none, so a phone typed as a number (13812345678, stored by Excel as the
/// float 13812345678.0) reads back exactly.
fn cell_text(v: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        // Integers up to 2^53 are exact in a float; 15 digits is Excel's own precision.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e}"),
    }
}

/// Where each column is.
struct Header {
    width: usize,
    name: usize,
    subgroup: Option<usize>,
    phone: Option<usize>,
}

/// Records in, checked rows out: the header first, then one household per
/// non-blank record; duplicates of (姓名, 小组) are found in a map.
struct Rows {
    max: usize,
    header: Option<Header>,
    out: Vec<HouseholdRow>,
    seen: HashMap<(String, String), usize>,
}

/// More columns than any header of ours could name.
const MAX_COLUMNS: usize = 64;

impl Rows {
    fn new(max: usize) -> Rows {
        Rows {
            max,
            header: None,
            out: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Columns past this hold nothing a header names.
    fn width_limit(&self) -> usize {
        self.header.as_ref().map_or(MAX_COLUMNS, |h| h.width)
    }

    fn push(&mut self, line: usize, mut fields: Vec<String>) -> Result<(), ImportError> {
        // Control characters (NUL …) are dropped from every cell, as from
        // every other input, so both backends store the same.
        fields
            .iter_mut()
            .for_each(crate::domain::text::clean_in_place);
        if fields.iter().all(|f| f.trim().is_empty()) {
            return Ok(());
        }
        let Some(h) = &self.header else {
            self.header = Some(header(line, &fields)?);
            return Ok(());
        };
        if let Some(extra) = fields
            .iter()
            .enumerate()
            .skip(h.width)
            .find(|(_, f)| !f.trim().is_empty())
        {
            return Err(invalid(format!(
                "line {line}, column {}: a value beyond the header's {} columns",
                extra.0 + 1,
                h.width
            )));
        }
        if self.out.len() >= self.max {
            return Err(ImportError::TooManyRows { max: self.max });
        }
        let get = |c: Option<usize>| {
            c.and_then(|c| fields.get(c))
                .map(|s| s.trim())
                .unwrap_or("")
        };
        let name = get(Some(h.name));
        if name.is_empty() || name.chars().count() > 32 || name.chars().any(char::is_control) {
            return Err(invalid(format!(
                "line {line}, column 姓名: must be 1 to 32 characters, no line breaks"
            )));
        }
        let subgroup = normalize_subgroup(get(h.subgroup)).ok_or_else(|| {
            invalid(format!(
                "line {line}, column 小组: {:?} is not a 小组 (write 3, 3组 or 第三组, or leave it empty)",
                get(h.subgroup)
            ))
        })?;
        let phone_raw = get(h.phone);
        let phone = if phone_raw.is_empty() {
            None
        } else {
            Some(household_phone(phone_raw).ok_or_else(|| {
                invalid(format!(
                    "line {line}, column 电话: {phone_raw:?} is neither a mobile (13812345678) nor a landline (0570-1234567)"
                ))
            })?)
        };
        let key = (name.to_string(), subgroup);
        if let Some(first) = self.seen.get(&key) {
            return Err(invalid(format!(
                "line {line}, column 姓名: {name} of 小组 {:?} is already on line {first}",
                key.1
            )));
        }
        self.out.push(HouseholdRow {
            line,
            name: key.0.clone(),
            subgroup: key.1.clone(),
            phone,
        });
        self.seen.insert(key, line);
        Ok(())
    }

    fn finish(self) -> Result<Vec<HouseholdRow>, ImportError> {
        if self.header.is_none() {
            return Err(invalid(
                "the file is empty; the first line is the header 姓名,小组,电话",
            ));
        }
        Ok(self.out)
    }
}

fn header(line: usize, fields: &[String]) -> Result<Header, ImportError> {
    let (mut name, mut subgroup, mut phone) = (None, None, None);
    // Trailing empty cells (a formatted but empty column) are no columns.
    let width = fields
        .iter()
        .rposition(|f| !f.trim().is_empty())
        .map_or(0, |i| i + 1);
    for (i, h) in fields.iter().take(width).enumerate() {
        let slot = match h.trim().to_lowercase().as_str() {
            "姓名" | "户主" | "户主姓名" | "name" => &mut name,
            "小组" | "组" | "subgroup" => &mut subgroup,
            "电话" | "手机" | "联系电话" | "phone" => &mut phone,
            other if other.contains('，') => {
                return Err(invalid(format!(
                    "line {line}, column {}: {other:?} — separate the columns with ASCII commas: 姓名,小组,电话",
                    i + 1
                )));
            }
            other => {
                return Err(invalid(format!(
                    "line {line}, column {}: unknown header {other:?}; use 姓名,小组,电话",
                    i + 1
                )));
            }
        };
        if slot.is_some() {
            return Err(invalid(format!(
                "line {line}, column {}: header {:?} appears twice",
                i + 1,
                h.trim()
            )));
        }
        *slot = Some(i);
    }
    let Some(name) = name else {
        return Err(invalid(format!(
            "line {line}: the header needs a 姓名 (name) column"
        )));
    };
    Ok(Header {
        width,
        name,
        subgroup,
        phone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Vec<HouseholdRow>, ImportError> {
        parse(Format::Csv, text.as_bytes(), MAX_ROWS)
    }

    fn why(r: Result<Vec<HouseholdRow>, ImportError>) -> String {
        r.expect_err("refused").to_string()
    }

    #[test]
    fn household_csv() {
        let text = "\u{feff}姓名,小组,电话\r\n张三,3组,13812345678\r\n\"李,四\",第十二组,\r\n\r\n王五,,0570-1234567\n";
        let rows = csv(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (
                rows[0].name.as_str(),
                rows[0].subgroup.as_str(),
                rows[0].phone.as_deref()
            ),
            ("张三", "3", Some("13812345678"))
        );
        assert_eq!(
            (
                rows[1].name.as_str(),
                rows[1].subgroup.as_str(),
                rows[1].phone.as_deref()
            ),
            ("李,四", "12", None)
        );
        assert_eq!((rows[2].line, rows[2].subgroup.as_str()), (5, ""));
        let en = csv("name,subgroup,phone\nZhang,1,\n").unwrap();
        assert_eq!(en[0].subgroup, "1");
        let only_names = csv("姓名\n张三\n").unwrap();
        assert_eq!(only_names[0].subgroup, "");
        // Trailing empty columns, as Excel writes for a formatted column.
        let trailing = csv("姓名,小组,\n张三,1,\n").unwrap();
        assert_eq!(trailing[0].name, "张三");

        for (text, want) in [
            ("姓名,小组\n张三,东组\n", "line 2, column 小组"),
            ("姓名,电话\n张三,123\n", "line 2, column 电话"),
            ("姓名,小组\n张三,1\n张三,1组\n", "line 3, column 姓名"),
            ("姓名,小组\n,1\n", "line 2, column 姓名"),
            ("名字,小组\n张三,1\n", "line 1, column 1"),
            ("小组\n1\n", "姓名"),
            ("姓名，小组\n张三，1\n", "ASCII commas"),
            ("姓名\n张三\n李四,1\n", "line 3, column 2"),
            // A quote never closed runs to the end: the name holds a line break.
            ("姓名\n\"张三\n李四\n", "line 2, column 姓名"),
            ("", "empty"),
        ] {
            let err = why(csv(text));
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert!(why(parse(Format::Csv, b"\xff\xfe", MAX_ROWS)).contains("UTF-16"));
        assert!(why(parse(Format::Csv, b"\x81\x20", MAX_ROWS)).contains("GBK"));
    }

    #[test]
    fn gbk_and_gb18030_as_excel_saves_them() {
        let text = "姓名,小组,电话\r\n张三,三组,13812345678\r\n李四,第十二组,\r\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&gbk).is_err(), "really not UTF-8");
        let rows = parse(Format::Csv, &gbk, MAX_ROWS).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.name.as_str(), r.subgroup.as_str(), r.phone.as_deref()))
                .collect::<Vec<_>>(),
            [("张三", "3", Some("13812345678")), ("李四", "12", None)]
        );
        // A name only GB18030 (not GBK) can write.
        let (gb18030, _, _) = encoding_rs::GB18030.encode("姓名\n𠀀家\n");
        assert_eq!(
            parse(Format::Csv, &gb18030, MAX_ROWS).unwrap()[0].name,
            "𠀀家"
        );
    }

    #[test]
    fn the_row_cap_refuses_the_file_at_its_first_extra_row() {
        let text = "姓名\n甲\n乙\n丙\n";
        assert_eq!(parse(Format::Csv, text.as_bytes(), 3).unwrap().len(), 3);
        assert_eq!(
            parse(Format::Csv, "姓名\n甲\n乙\n丙\n丁\n".as_bytes(), 3),
            Err(ImportError::TooManyRows { max: 3 })
        );
        // Blank lines do not count.
        assert_eq!(
            parse(Format::Csv, "姓名\n\n甲\n\n乙\n,\n丙\n".as_bytes(), 3)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn duplicates_are_found_in_linear_time() {
        // 50 000 distinct rows and a duplicate of the first at the end: a
        // quadratic check would take seconds here, a set takes milliseconds.
        let mut text = String::from("姓名,小组\n");
        for i in 0..MAX_ROWS - 1 {
            text.push_str(&format!("户{i},{}\n", i % 20 + 1));
        }
        text.push_str("户0,1\n");
        let started = std::time::Instant::now();
        let err = why(csv(&text));
        assert!(
            err.contains(&format!("line {}, column 姓名", MAX_ROWS + 1))
                && err.contains("already on line 2"),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn formats_are_told_by_their_first_bytes_then_the_content_type() {
        assert_eq!(Format::detect(None, b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert_eq!(
            Format::detect(Some("text/csv"), b"PK\x03\x04rest"),
            Ok(Format::Xlsx)
        );
        assert_eq!(
            Format::detect(Some("text/csv; charset=gbk"), "姓名".as_bytes()),
            Ok(Format::Csv)
        );
        assert_eq!(
            Format::detect(Some("application/vnd.ms-excel"), b"a,b"),
            Ok(Format::Csv)
        );
        assert!(Format::detect(Some(XLSX_CONTENT_TYPE), b"a,b").is_err());
        let xls = Format::detect(None, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1]).unwrap_err();
        assert!(xls.to_string().contains(".xls"), "{xls}");
    }

    /// A real workbook with one more part of `extra` zero bytes, which
    /// deflate squeezes to about a thousandth.
    fn padded_workbook(extra: usize) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(1, 0, "张三").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut src = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..src.len() {
            let mut part = src.by_index(i).unwrap();
            let mut data = Vec::new();
            part.read_to_end(&mut data).unwrap();
            out.start_file(part.name().unwrap().to_string(), opts)
                .unwrap();
            out.write_all(&data).unwrap();
        }
        out.start_file("xl/media/padding.bin", opts.large_file(true))
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..extra >> 20 {
            out.write_all(&zeros).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn an_xlsx_that_unzips_past_the_cap_is_refused_before_it_is_read() {
        let fine = padded_workbook(8 << 20);
        assert_eq!(parse(Format::Xlsx, &fine, MAX_ROWS).unwrap().len(), 1);
        // The cap leaves room for the most households one import takes.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["姓名", "小组", "电话"].into_iter().enumerate() {
            sheet.write_string(0, c as u16, h).unwrap();
        }
        for r in 1..=MAX_ROWS as u32 {
            sheet.write_string(r, 0, format!("村民{r}号户主")).unwrap();
            sheet
                .write_string(r, 1, format!("第{}组", r % 30 + 1))
                .unwrap();
            sheet
                .write_number(r, 2, 13_800_000_000.0 + f64::from(r))
                .unwrap();
        }
        let full = book.save_to_buffer().unwrap();
        assert_eq!(
            parse(Format::Xlsx, &full, MAX_ROWS).unwrap().len(),
            MAX_ROWS
        );
        let bomb = padded_workbook(40 << 20);
        assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
        assert_eq!(
            parse(Format::Xlsx, &bomb, MAX_ROWS),
            Err(ImportError::TooBigUnzipped)
        );
    }

    #[test]
    fn xlsx_cells_are_read_as_text_and_numbers_stay_exact() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 1, "小组").unwrap();
        sheet.write_string(0, 2, "电话").unwrap();
        sheet.write_string(1, 0, "张三").unwrap();
        sheet.write_number(1, 1, 3.0).unwrap();
        sheet.write_number(1, 2, 13812345678.0).unwrap();
        // Row 3 left empty; row 4 with text cells.
        sheet.write_string(3, 0, "李四").unwrap();
        sheet.write_string(3, 1, "第十二组").unwrap();
        sheet.write_string(3, 2, "0570-1234567").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert_eq!(Format::detect(None, &bytes), Ok(Format::Xlsx));
        let rows = parse(Format::Xlsx, &bytes, MAX_ROWS).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (
                    r.line,
                    r.name.as_str(),
                    r.subgroup.as_str(),
                    r.phone.as_deref()
                ))
                .collect::<Vec<_>>(),
            [
                (2, "张三", "3", Some("13812345678")),
                (4, "李四", "12", Some("0570-1234567"))
            ]
        );

        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 1, "电话").unwrap();
        sheet.write_string(1, 0, "张三").unwrap();
        sheet.write_number(1, 1, 12345.5).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let err = why(parse(Format::Xlsx, &bytes, MAX_ROWS));
        assert!(err.contains("line 2, column 电话"), "{err}");
        assert!(why(parse(Format::Xlsx, b"PK\x03\x04not a zip", MAX_ROWS)).contains("xlsx"));
    }
}
