//! Tabular datasets in and out: CSV (through the `csv` crate), Parquet and Arrow IPC files
//! (through arrow record batches), as [`Row`]s or serde-typed records.
//!
//! Sources take a file or a directory (its files not starting with `.` or `_`, in name
//! order, so a directory written by a `save_as_*` action reads back in partition order).
//! Sinks write one `part-NNNNN.csv|.parquet|.arrow` file per partition through the shared
//! temporary-directory-then-rename protocol of [`Rdd::save_partitions`].

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::StringArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Schema as ArrowSchema, SchemaRef};
use morpheus_engine::{Context, Error, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::batch::{normalize, Batch};
use crate::dataset::{
    record_from_row, record_to_row, CsvOptions, DataType, Field, ParquetCompression, Row, Schema,
    Value,
};
use crate::io::{create_file, io_err};
use crate::node::MapPartitions;
use crate::rdd::{Item, Rdd};

/// Rows per record batch when writing (and per batch when reading Parquet).
const BATCH_ROWS: usize = 64 * 1024;

/// Converts rows into records; the message names the column.
type Convert<T> = Rc<dyn Fn(Row) -> std::result::Result<T, String>>;

fn job_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Job(format!("{}: {e}", path.display()))
}

/// The data files of `path`: the file itself, or a directory's regular files whose names do
/// not start with `.` or `_` (temporary outputs, markers), in name order.
/// The data files `path` names: itself, or a directory's files in name order, skipping
/// hidden (`.`) and metadata (`_`) entries such as `_SUCCESS`.
///
/// # Errors
/// I/O errors; a directory without data files.
pub fn input_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).map_err(io_err(path))? {
        let entry = entry.map_err(io_err(path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let p = entry.path();
        if fs::metadata(&p).map_err(io_err(&p))?.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(job_err(path, "the directory holds no data files"));
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------
// Arrow conversions.

impl Schema {
    /// The arrow schema of this one (`Bool` → Boolean, `Int64`, `Float64`, `Utf8`).
    pub fn to_arrow(&self) -> ArrowSchema {
        ArrowSchema::new(
            self.fields
                .iter()
                .map(|f| {
                    let t = match f.data_type {
                        DataType::Bool => ArrowType::Boolean,
                        DataType::Int64 => ArrowType::Int64,
                        DataType::Float64 => ArrowType::Float64,
                        DataType::Utf8 => ArrowType::Utf8,
                    };
                    arrow_schema::Field::new(&f.name, t, f.nullable)
                })
                .collect::<Vec<_>>(),
        )
    }

    /// The schema of rows read from `schema`: signed and unsigned integers become `Int64`,
    /// floats `Float64`, booleans `Bool`, strings (`Utf8`, `LargeUtf8`, `Utf8View`) and the
    /// null type `Utf8`.
    ///
    /// # Errors
    /// [`Error::Job`] naming the first column of another type.
    pub fn from_arrow(schema: &ArrowSchema) -> Result<Schema> {
        let mut fields = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let t = match f.data_type() {
                ArrowType::Int8
                | ArrowType::Int16
                | ArrowType::Int32
                | ArrowType::Int64
                | ArrowType::UInt8
                | ArrowType::UInt16
                | ArrowType::UInt32
                | ArrowType::UInt64 => DataType::Int64,
                ArrowType::Float32 | ArrowType::Float64 => DataType::Float64,
                ArrowType::Boolean => DataType::Bool,
                ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View | ArrowType::Null => {
                    DataType::Utf8
                }
                other => {
                    return Err(Error::Job(format!(
                        "column `{}` has unsupported type {other}",
                        f.name()
                    )))
                }
            };
            let nullable = f.is_nullable() || f.data_type() == &ArrowType::Null;
            fields.push(Field::new(f.name(), t, nullable));
        }
        Ok(Schema::new(fields))
    }
}

/// Converts a record batch into rows. `at(i)` names row `i` of the batch in errors.
pub(crate) fn batch_to_rows(batch: &RecordBatch, at: &dyn Fn(usize) -> String) -> Result<Vec<Row>> {
    let n = batch.num_rows();
    let mut rows: Vec<Row> = (0..n)
        .map(|_| Vec::with_capacity(batch.num_columns()))
        .collect();
    let schema = batch.schema();
    for (col, field) in batch.columns().iter().zip(schema.fields()) {
        push_column(&mut rows, col, field.name(), at)?;
    }
    Ok(rows)
}

fn push_column(
    rows: &mut [Row],
    col: &ArrayRef,
    name: &str,
    at: &dyn Fn(usize) -> String,
) -> Result<()> {
    macro_rules! each {
        ($array:expr, |$v:ident| $value:expr) => {{
            let a = $array;
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if a.is_null(i) {
                    Value::Null
                } else {
                    let $v = a.value(i);
                    $value
                });
            }
        }};
    }
    match col.data_type() {
        ArrowType::Int8 => each!(col.as_primitive::<Int8Type>(), |v| Value::Int(v.into())),
        ArrowType::Int16 => each!(col.as_primitive::<Int16Type>(), |v| Value::Int(v.into())),
        ArrowType::Int32 => each!(col.as_primitive::<Int32Type>(), |v| Value::Int(v.into())),
        ArrowType::Int64 => each!(col.as_primitive::<Int64Type>(), |v| Value::Int(v)),
        ArrowType::UInt8 => each!(col.as_primitive::<UInt8Type>(), |v| Value::Int(v.into())),
        ArrowType::UInt16 => each!(col.as_primitive::<UInt16Type>(), |v| Value::Int(v.into())),
        ArrowType::UInt32 => each!(col.as_primitive::<UInt32Type>(), |v| Value::Int(v.into())),
        ArrowType::UInt64 => {
            let a = col.as_primitive::<UInt64Type>();
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if a.is_null(i) {
                    Value::Null
                } else {
                    let v = a.value(i);
                    Value::Int(i64::try_from(v).map_err(|_| {
                        Error::Job(format!(
                            "{}, column `{name}`: {v} does not fit in Int64",
                            at(i)
                        ))
                    })?)
                });
            }
        }
        ArrowType::Float32 => each!(col.as_primitive::<Float32Type>(), |v| Value::Float(
            v.into()
        )),
        ArrowType::Float64 => each!(col.as_primitive::<Float64Type>(), |v| Value::Float(v)),
        ArrowType::Boolean => each!(col.as_boolean(), |v| Value::Bool(v)),
        ArrowType::Utf8 => each!(col.as_string::<i32>(), |v| Value::Str(v.to_owned())),
        ArrowType::LargeUtf8 => each!(col.as_string::<i64>(), |v| Value::Str(v.to_owned())),
        ArrowType::Utf8View => each!(col.as_string_view(), |v| Value::Str(v.to_owned())),
        ArrowType::Null => rows.iter_mut().for_each(|r| r.push(Value::Null)),
        other => {
            return Err(Error::Job(format!(
                "{}: column `{name}` has unsupported type {other}",
                at(0)
            )))
        }
    }
    Ok(())
}

/// Builds a record batch of `rows`, checking each against `schema`. Errors name the row by
/// its index `first + i` within the partition.
pub(crate) fn rows_to_batch(
    schema: &Schema,
    arrow: &SchemaRef,
    rows: &[Row],
    first: usize,
) -> std::result::Result<RecordBatch, String> {
    for (i, row) in rows.iter().enumerate() {
        schema
            .check_row(row)
            .map_err(|e| format!("row {}: {e}", first + i))?;
    }
    let columns: Vec<ArrayRef> = schema
        .fields
        .iter()
        .enumerate()
        .map(|(j, f)| -> ArrayRef {
            let cells = rows.iter().map(|r| &r[j]);
            match f.data_type {
                DataType::Bool => Arc::new(cells.map(Value::as_bool).collect::<BooleanArray>()),
                DataType::Int64 => Arc::new(cells.map(Value::as_i64).collect::<Int64Array>()),
                DataType::Float64 => Arc::new(cells.map(Value::as_f64).collect::<Float64Array>()),
                DataType::Utf8 => Arc::new(cells.map(Value::as_str).collect::<StringArray>()),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::clone(arrow), columns).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// CSV.

/// One CSV input file.
struct CsvFile {
    path: PathBuf,
    len: u64,
    /// Where the first record starts (after a UTF-8 byte-order mark and blank lines).
    first: u64,
}

/// What every partition of a CSV source needs.
struct CsvPlan {
    files: Vec<CsvFile>,
    /// `(file, start, end)`: a partition reads the records starting in `[start, end)`.
    ranges: Vec<(usize, u64, u64)>,
    schema: Schema,
    header: bool,
    delimiter: u8,
}

/// CSV records with exact start positions and line numbers. (The `csv` crate reports a
/// record's position where the previous one ended, before blank lines and the `\n` of a
/// CRLF; partition boundaries need the exact start.)
struct Records<R> {
    rdr: R,
    core: csv_core::Reader,
    /// Position of the next unread byte (absolute in the file).
    pos: u64,
    /// Line of the next unread byte, counted from 1 where reading started.
    line: u64,
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Number of fields of the last record.
    len: usize,
}

impl<R: BufRead> Records<R> {
    /// Reads records from `rdr`, which is positioned at byte `pos` of the file.
    fn new(rdr: R, delimiter: u8, pos: u64) -> Self {
        Self {
            rdr,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            pos,
            line: 1,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            len: 0,
        }
    }

    fn consume(&mut self, n: usize) -> std::io::Result<()> {
        let buf = self.rdr.fill_buf()?;
        self.line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.pos += n as u64;
        self.rdr.consume(n);
        Ok(())
    }

    /// The next record's start position and line (its fields are then
    /// [`Records::fields`]), or `None` at the end. Blank lines are skipped.
    fn next(&mut self) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            let buf = self.rdr.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let blank = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let all = blank == buf.len();
            self.consume(blank)?;
            if !all {
                break;
            }
        }
        let start = (self.pos, self.line);
        let (mut out, mut nends) = (0, 0);
        loop {
            let buf = self.rdr.fill_buf()?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(buf, &mut self.fields[out..], &mut self.ends[nends..]);
            self.consume(nin)?;
            out += nout;
            nends += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.len = nends;
                    return Ok(Some(start));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The fields of the last record.
    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).map(|i| {
            let from = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.fields[from..self.ends[i]]
        })
    }
}

/// The first position at or after `start` that begins a line (`len` if none).
fn line_start(f: &mut File, path: &Path, start: u64, len: u64) -> Result<u64> {
    if start == 0 {
        return Ok(0);
    }
    if start >= len {
        return Ok(len);
    }
    f.seek(SeekFrom::Start(start - 1)).map_err(io_err(path))?;
    let mut skip = Vec::new();
    let n = BufReader::new(&mut *f)
        .read_until(b'\n', &mut skip)
        .map_err(io_err(path))?;
    Ok(start - 1 + n as u64)
}

/// Skips a byte-order mark at position 0 and blank lines (which the CSV reader skips too):
/// where the next record starts.
fn skip_blank(f: &mut File, path: &Path, mut pos: u64) -> Result<u64> {
    f.seek(SeekFrom::Start(pos)).map_err(io_err(path))?;
    let mut r = BufReader::new(&mut *f);
    if pos == 0 {
        let buf = r.fill_buf().map_err(io_err(path))?;
        if buf.starts_with(b"\xEF\xBB\xBF") {
            r.consume(3);
            pos = 3;
        }
    }
    loop {
        let buf = r.fill_buf().map_err(io_err(path))?;
        if buf.is_empty() {
            return Ok(pos);
        }
        let blank = buf
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        pos += blank as u64;
        if blank < buf.len() {
            return Ok(pos);
        }
        r.consume(blank);
    }
}

/// Newlines and double quotes in the first `end` bytes of the file (for line numbers, and
/// to tell whether `end` lies inside a quoted field).
fn count_prefix(path: &Path, end: u64) -> Result<(u64, u64)> {
    let f = File::open(path).map_err(io_err(path))?;
    let mut r = BufReader::with_capacity(1 << 20, f.take(end));
    let (mut lines, mut quotes) = (0u64, 0u64);
    loop {
        let buf = r.fill_buf().map_err(io_err(path))?;
        if buf.is_empty() {
            return Ok((lines, quotes));
        }
        for &b in buf {
            lines += u64::from(b == b'\n');
            quotes += u64::from(b == b'"');
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// Parses one cell of column `f`. An empty cell is null in a nullable column (so an empty
/// string reads back as null there) and an empty string in a non-nullable `Utf8` column.
fn parse_cell(cell: &[u8], f: &Field) -> std::result::Result<Value, String> {
    let s = std::str::from_utf8(cell).map_err(|_| "invalid UTF-8".to_owned())?;
    if f.data_type == DataType::Utf8 {
        return Ok(if s.is_empty() && f.nullable {
            Value::Null
        } else {
            Value::Str(s.to_owned())
        });
    }
    let t = s.trim();
    if t.is_empty() {
        return if f.nullable {
            Ok(Value::Null)
        } else {
            Err("empty value in a non-nullable column".into())
        };
    }
    let bad = || format!("cannot parse {s:?} as {}", f.data_type);
    match f.data_type {
        DataType::Int64 => t.parse().map(Value::Int).map_err(|_| bad()),
        DataType::Float64 => t.parse().map(Value::Float).map_err(|_| bad()),
        DataType::Bool if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        DataType::Bool if t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        _ => Err(bad()),
    }
}

/// Infers column types from sampled cells (see [`CsvOptions::schema`]).
fn infer_type(cells: &[Vec<u8>]) -> DataType {
    let (mut all_int, mut all_float, mut all_bool) = (true, true, true);
    let (mut any, mut digit) = (false, false);
    for cell in cells {
        let Ok(s) = std::str::from_utf8(cell) else {
            return DataType::Utf8;
        };
        let t = s.trim();
        if t.is_empty() {
            continue;
        }
        any = true;
        all_int &= t.parse::<i64>().is_ok();
        all_float &= t.parse::<f64>().is_ok();
        digit |= t.bytes().any(|b| b.is_ascii_digit());
        all_bool &= t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false");
    }
    match () {
        _ if !any => DataType::Utf8,
        _ if all_int => DataType::Int64,
        _ if all_float && digit => DataType::Float64,
        _ if all_bool => DataType::Bool,
        _ => DataType::Utf8,
    }
}

impl CsvPlan {
    fn new(path: &Path, options: &CsvOptions, partitions: usize) -> Result<Self> {
        let mut files = Vec::new();
        for path in input_files(path)? {
            let mut f = File::open(&path).map_err(io_err(&path))?;
            let len = f.metadata().map_err(io_err(&path))?.len();
            let first = skip_blank(&mut f, &path, 0)?;
            files.push(CsvFile { path, len, first });
        }
        // The header (from the first file that has one) and a sample of records.
        let mut header: Option<Vec<String>> = None;
        let mut sample: Vec<Vec<Vec<u8>>> = Vec::new();
        for file in &files {
            if sample.len() >= options.sample_rows && (header.is_some() || !options.header) {
                break;
            }
            let mut f = File::open(&file.path).map_err(io_err(&file.path))?;
            f.seek(SeekFrom::Start(file.first))
                .map_err(io_err(&file.path))?;
            let mut rdr = Records::new(BufReader::new(f), options.delimiter, file.first);
            let mut first = true;
            while rdr.next().map_err(io_err(&file.path))?.is_some() {
                if first && options.header {
                    first = false;
                    if header.is_none() {
                        header = Some(
                            rdr.fields()
                                .map(|c| String::from_utf8_lossy(c).trim().to_owned())
                                .collect(),
                        );
                    }
                    continue;
                }
                if sample.len() >= options.sample_rows {
                    break;
                }
                sample.push(rdr.fields().map(<[u8]>::to_vec).collect());
            }
        }
        let schema = match &options.schema {
            Some(s) => {
                if let Some(h) = &header {
                    if h.len() != s.len() {
                        return Err(job_err(
                            &files[0].path,
                            format!("the header has {} columns, the schema {}", h.len(), s.len()),
                        ));
                    }
                }
                s.clone()
            }
            None => {
                let names: Vec<String> = match header {
                    Some(h) => h
                        .into_iter()
                        .enumerate()
                        .map(|(i, n)| if n.is_empty() { format!("c{i}") } else { n })
                        .collect(),
                    None => (0..sample.first().map_or(0, Vec::len))
                        .map(|i| format!("c{i}"))
                        .collect(),
                };
                let fields = names
                    .into_iter()
                    .enumerate()
                    .map(|(j, name)| {
                        let cells: Vec<Vec<u8>> =
                            sample.iter().filter_map(|r| r.get(j).cloned()).collect();
                        Field::new(name, infer_type(&cells), true)
                    })
                    .collect();
                Schema::new(fields)
            }
        };
        let per_file = (partitions / files.len()).max(1) as u64;
        let mut ranges = Vec::new();
        for (i, f) in files.iter().enumerate() {
            for k in 0..per_file {
                ranges.push((i, k * f.len / per_file, (k + 1) * f.len / per_file));
            }
        }
        Ok(Self {
            files,
            ranges,
            schema,
            header: options.header,
            delimiter: options.delimiter,
        })
    }

    /// Reads partition `p`: the records that start in its byte range, converted by
    /// `convert`. Checks that the last record ends where the next partition's first record
    /// begins (it does not when a quoted field holding a line break crosses the boundary).
    fn read<T>(&self, p: usize, convert: &Convert<T>) -> Result<Vec<T>> {
        let (i, start, end) = self.ranges[p];
        let file = &self.files[i];
        let path = file.path.as_path();
        let mut f = File::open(path).map_err(io_err(path))?;
        let s = line_start(&mut f, path, start, file.len)?;
        let s = skip_blank(&mut f, path, s)?;
        f.seek(SeekFrom::Start(s)).map_err(io_err(path))?;
        let mut rdr = Records::new(BufReader::with_capacity(1 << 20, f), self.delimiter, s);
        // Line numbers and the quoted-field hint need the bytes before `s`: counted only
        // when reporting an error.
        let fail = |line: u64, what: String| -> Error {
            match count_prefix(path, s) {
                Ok((lines, quotes)) => {
                    let hint = if quotes % 2 == 1 {
                        " (this partition may start inside a quoted field holding a line \
                         break; read the file with partitions = 1)"
                    } else {
                        ""
                    };
                    job_err(path, format!("line {}: {what}{hint}", lines + line))
                }
                Err(e) => e,
            }
        };
        let fields = &self.schema.fields;
        let mut out = Vec::new();
        let mut last_line = 1;
        let next = loop {
            let Some((at, line)) = rdr.next().map_err(io_err(path))? else {
                break file.len;
            };
            if at >= end {
                break at;
            }
            last_line = line;
            if self.header && at == file.first {
                continue;
            }
            if rdr.len != fields.len() {
                return Err(fail(
                    line,
                    format!("expected {} fields, found {}", fields.len(), rdr.len),
                ));
            }
            let mut row = Vec::with_capacity(fields.len());
            for (cell, field) in rdr.fields().zip(fields) {
                let v = parse_cell(cell, field)
                    .map_err(|e| fail(line, format!("column `{}`: {e}", field.name)))?;
                row.push(v);
            }
            out.push(convert(row).map_err(|e| fail(line, e))?);
        };
        if end < file.len {
            let mut f = File::open(path).map_err(io_err(path))?;
            let next_start = line_start(&mut f, path, end, file.len)?;
            let expected = skip_blank(&mut f, path, next_start)?;
            if next != expected {
                return Err(fail(
                    last_line,
                    "this record crosses into the next partition's byte range (a quoted \
                     field holds a line break, or lines end in CR alone); read the file \
                     with partitions = 1"
                        .into(),
                ));
            }
        }
        Ok(out)
    }
}

fn csv_source<T: Item>(
    ctx: &Context<'_>,
    path: &Path,
    options: &CsvOptions,
    partitions: usize,
    convert: impl Fn(&Schema) -> Convert<T>,
) -> Result<(Schema, Rdd<T>)> {
    let n = if partitions == 0 {
        ctx.config().default_partitions()
    } else {
        partitions
    };
    let plan = Rc::new(CsvPlan::new(path, options, n)?);
    let schema = plan.schema.clone();
    let convert = convert(&schema);
    let count = plan.ranges.len();
    let rdd = Rdd::from_fn(count, move |p| plan.read(p, &convert));
    Ok((schema, rdd))
}

impl Rdd<Row> {
    /// Reads a CSV file, or every data file of a directory (one written by
    /// [`Rdd::save_as_csv`], for instance), as rows; returns the schema too (given in
    /// `options`, or inferred from the first records).
    ///
    /// Each file is split into line-aligned byte ranges, `partitions` in all (0: the
    /// configured default; at least one per file). A quoted field that holds a line break
    /// must not cross a range boundary: such files need `partitions = 1` per file (the
    /// reader detects the case and fails with that advice instead of misreading).
    ///
    /// # Errors
    /// I/O errors; a cell that does not parse as its column's type, or a record with the
    /// wrong number of fields, fails the job with an error naming the file, line and column.
    pub fn read_csv(
        ctx: &Context<'_>,
        path: impl AsRef<Path>,
        options: &CsvOptions,
        partitions: usize,
    ) -> Result<(Schema, Rdd<Row>)> {
        csv_source(ctx, path.as_ref(), options, partitions, |_| {
            Rc::new(Ok::<Row, String>) as Convert<Row>
        })
    }

    /// Reads a Parquet file, or every data file of a directory (which must share one
    /// schema), as rows; returns the schema too. Row groups are the partitions
    /// (`partitions = 0`), or are dealt out in order into at most `partitions` partitions.
    ///
    /// Integer columns become `Int64` (a `UInt64` value above `i64::MAX` is an error),
    /// floats `Float64`, booleans `Bool`, strings `Utf8`.
    ///
    /// # Errors
    /// I/O and Parquet errors; a column of another type, naming it.
    pub fn read_parquet(
        ctx: &Context<'_>,
        path: impl AsRef<Path>,
        partitions: usize,
    ) -> Result<(Schema, Rdd<Row>)> {
        let (schema, batches) = Rdd::read_parquet_batches(ctx, path, partitions)?;
        Ok((schema, batches.rows()))
    }

    /// Reads an Arrow IPC file (the file format, `.arrow`), or every data file of a
    /// directory (which must share one schema), as rows; record batches are the partitions.
    /// Column types convert as in [`Rdd::read_parquet`].
    ///
    /// # Errors
    /// I/O and Arrow errors; a column of another type, naming it.
    pub fn read_ipc(ctx: &Context<'_>, path: impl AsRef<Path>) -> Result<(Schema, Rdd<Row>)> {
        let (schema, batches) = Rdd::read_ipc_batches(ctx, path)?;
        Ok((schema, batches.rows()))
    }

    /// These rows (of `schema`) as record batches of up to 64Ki rows.
    ///
    /// # Errors
    /// (When computed.) A row that does not fit `schema` fails the job, naming the
    /// partition, row and column.
    pub fn to_batches(&self, schema: &Schema) -> Rdd<Batch> {
        let schema = schema.clone();
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        Rdd::from_node(MapPartitions {
            parent: Rc::clone(&self.node),
            f: Rc::new(move |p, rows: Vec<Row>| {
                rows.chunks(BATCH_ROWS)
                    .enumerate()
                    .map(|(k, chunk)| {
                        rows_to_batch(&schema, &arrow, chunk, k * BATCH_ROWS)
                            .map(Batch)
                            .map_err(|e| Error::Job(format!("partition {p}, {e}")))
                    })
                    .collect()
            }),
        })
    }

    /// Converts rows of `schema` into serde records by column name (see
    /// [`dataset::from_row`](crate::dataset::from_row)).
    ///
    /// # Errors
    /// (When computed.) A value that does not fit its field fails the job, naming the row
    /// (partition and index) and the column.
    pub fn rows_as<T: Item>(&self, schema: &Schema) -> Rdd<T> {
        let schema = schema.clone();
        Rdd::from_node(MapPartitions {
            parent: Rc::clone(&self.node),
            f: Rc::new(move |p, rows: Vec<Row>| {
                rows.into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        record_from_row(&schema, row)
                            .map_err(|e| Error::Job(format!("partition {p}, row {i}: {e}")))
                    })
                    .collect()
            }),
        })
    }

    /// Writes one `part-NNNNN.csv` file per partition, with a header, into directory `dir`
    /// (which must not exist), through the temporary-directory-then-rename protocol of
    /// [`Rdd::save_as_text_file`]. Nulls are empty cells; floats are written so that they
    /// read back as floats.
    ///
    /// # Errors
    /// I/O errors; a row that does not fit `schema` (naming partition, row and column).
    pub fn save_as_csv(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
    ) -> Result<()> {
        self.save_as_csv_with(ctx, dir, schema, &CsvOptions::default())
    }

    /// [`Rdd::save_as_csv`] with the header switch and delimiter of `options`.
    ///
    /// # Errors
    /// As [`Rdd::save_as_csv`].
    pub fn save_as_csv_with(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
        options: &CsvOptions,
    ) -> Result<()> {
        let (header, delimiter) = (options.header, options.delimiter);
        self.save_partitions(ctx, dir.as_ref(), ".csv", |path, p, rows| {
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(create_file(path)?);
            let werr = |e: csv::Error| match e.into_kind() {
                csv::ErrorKind::Io(source) => Error::Io {
                    path: path.to_owned(),
                    source,
                },
                other => job_err(path, format!("{other:?}")),
            };
            if header {
                w.write_record(schema.names()).map_err(werr)?;
            }
            let mut rec = csv::ByteRecord::new();
            let mut buf = String::new();
            for (i, row) in rows.iter().enumerate() {
                schema
                    .check_row(row)
                    .map_err(|e| Error::Job(format!("partition {p}, row {i}: {e}")))?;
                rec.clear();
                for v in row {
                    buf.clear();
                    match v {
                        Value::Null => {}
                        Value::Str(s) => buf.push_str(s),
                        other => {
                            let _ = write!(buf, "{other}");
                        }
                    }
                    rec.push_field(buf.as_bytes());
                }
                w.write_byte_record(&rec).map_err(werr)?;
            }
            let file = w.into_inner().map_err(|e| Error::Io {
                path: path.to_owned(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(io_err(path))
        })
    }

    /// Writes one `part-NNNNN.parquet` file per partition (Snappy-compressed) into
    /// directory `dir` (which must not exist), through the temporary-directory-then-rename
    /// protocol of [`Rdd::save_as_text_file`].
    ///
    /// # Errors
    /// I/O and Parquet errors; a row that does not fit `schema` (naming partition, row and
    /// column).
    pub fn save_as_parquet(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
    ) -> Result<()> {
        self.save_as_parquet_with(ctx, dir, schema, ParquetCompression::default())
    }

    /// [`Rdd::save_as_parquet`] with another compression.
    ///
    /// # Errors
    /// As [`Rdd::save_as_parquet`]; an invalid Zstandard level.
    pub fn save_as_parquet_with(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
        compression: ParquetCompression,
    ) -> Result<()> {
        self.to_batches(schema)
            .save_batches_as_parquet(ctx, dir, schema, compression)
    }

    /// Writes one `part-NNNNN.arrow` Arrow IPC file per partition into directory `dir`
    /// (which must not exist), through the temporary-directory-then-rename protocol of
    /// [`Rdd::save_as_text_file`].
    ///
    /// # Errors
    /// I/O and Arrow errors; a row that does not fit `schema` (naming partition, row and
    /// column).
    pub fn save_as_ipc(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
    ) -> Result<()> {
        self.to_batches(schema)
            .save_batches_as_ipc(ctx, dir, schema)
    }
}

impl Rdd<Batch> {
    /// Reads a Parquet file, or every data file of a directory (which must share one
    /// schema), as record batches of up to 64Ki rows with the columns converted as in
    /// [`Rdd::read_parquet`]; returns the schema too. Row groups are the partitions
    /// (`partitions = 0`), or are dealt out in order into at most `partitions` partitions.
    ///
    /// # Errors
    /// I/O and Parquet errors; a column of another type, naming it; a `UInt64` value above
    /// `i64::MAX`, naming the file, row and column.
    pub fn read_parquet_batches(
        ctx: &Context<'_>,
        path: impl AsRef<Path>,
        partitions: usize,
    ) -> Result<(Schema, Rdd<Batch>)> {
        let _ = ctx;
        let mut schema: Option<Schema> = None;
        // (file, row group, rows before it in the file)
        let mut groups: Vec<(usize, usize, u64)> = Vec::new();
        let files = input_files(path.as_ref())?;
        for (i, p) in files.iter().enumerate() {
            let f = File::open(p).map_err(io_err(p))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| job_err(p, e))?;
            let s = Schema::from_arrow(builder.schema()).map_err(|e| job_err(p, e))?;
            schema = Some(merge_schema(schema, s, p)?);
            let mut before = 0u64;
            for g in 0..builder.metadata().num_row_groups() {
                groups.push((i, g, before));
                before += builder.metadata().row_group(g).num_rows().max(0) as u64;
            }
        }
        let schema = schema.unwrap_or_default();
        let n = if partitions == 0 {
            groups.len()
        } else {
            partitions.min(groups.len())
        }
        .max(1);
        let total = groups.len();
        let (files, groups) = (Rc::new(files), Rc::new(groups));
        let out = schema.clone();
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        let rdd = Rdd::from_fn(n, move |part| {
            let mut batches = Vec::new();
            for &(i, g, before) in &groups[part * total / n..(part + 1) * total / n] {
                let p = &files[i];
                let f = File::open(p).map_err(io_err(p))?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| {
                        b.with_row_groups(vec![g])
                            .with_batch_size(BATCH_ROWS)
                            .build()
                    })
                    .map_err(|e| job_err(p, e))?;
                let mut first = before;
                for batch in reader {
                    let batch = batch.map_err(|e| job_err(p, e))?;
                    let at = |r: usize| format!("{}: row {}", p.display(), first + r as u64 + 1);
                    batches.push(normalize(&batch, &out, &arrow, &at)?);
                    first += batch.num_rows() as u64;
                }
            }
            Ok(batches)
        });
        Ok((schema, rdd))
    }

    /// Reads an Arrow IPC file (the file format, `.arrow`), or every data file of a
    /// directory (which must share one schema), as record batches with the columns
    /// converted as in [`Rdd::read_parquet`]; the file's record batches are the
    /// partitions.
    ///
    /// # Errors
    /// I/O and Arrow errors; a column of another type, naming it.
    pub fn read_ipc_batches(
        ctx: &Context<'_>,
        path: impl AsRef<Path>,
    ) -> Result<(Schema, Rdd<Batch>)> {
        let _ = ctx;
        let mut schema: Option<Schema> = None;
        let mut batches: Vec<(usize, usize)> = Vec::new();
        let files = input_files(path.as_ref())?;
        for (i, p) in files.iter().enumerate() {
            let f = File::open(p).map_err(io_err(p))?;
            let reader = arrow_ipc::reader::FileReader::try_new_buffered(f, None)
                .map_err(|e| job_err(p, e))?;
            let s = Schema::from_arrow(&reader.schema()).map_err(|e| job_err(p, e))?;
            schema = Some(merge_schema(schema, s, p)?);
            batches.extend((0..reader.num_batches()).map(|b| (i, b)));
        }
        let schema = schema.unwrap_or_default();
        let n = batches.len().max(1);
        let (files, batches) = (Rc::new(files), Rc::new(batches));
        let out = schema.clone();
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        let rdd = Rdd::from_fn(n, move |part| {
            let Some(&(i, b)) = batches.get(part) else {
                return Ok(Vec::new());
            };
            let p = &files[i];
            let f = File::open(p).map_err(io_err(p))?;
            let mut reader = arrow_ipc::reader::FileReader::try_new_buffered(f, None)
                .map_err(|e| job_err(p, e))?;
            reader.set_index(b).map_err(|e| job_err(p, e))?;
            let batch = reader
                .next()
                .ok_or_else(|| job_err(p, format!("record batch {b} is missing")))?
                .map_err(|e| job_err(p, e))?;
            let at = |r: usize| format!("{}: batch {b}, row {}", p.display(), r + 1);
            Ok(vec![normalize(&batch, &out, &arrow, &at)?])
        });
        Ok((schema, rdd))
    }

    /// Writes one `part-NNNNN.parquet` file per partition into directory `dir` (which must
    /// not exist), through the temporary-directory-then-rename protocol of
    /// [`Rdd::save_as_text_file`]. The batches' columns must have `schema`'s types.
    ///
    /// # Errors
    /// I/O and Parquet errors; an invalid Zstandard level; a batch of another schema.
    pub fn save_batches_as_parquet(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
        compression: ParquetCompression,
    ) -> Result<()> {
        let compression = match compression {
            ParquetCompression::None => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Zstd(level) => Compression::ZSTD(
                ZstdLevel::try_new(level).map_err(|e| Error::Job(format!("parquet: {e}")))?,
            ),
        };
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        self.save_partitions(ctx, dir.as_ref(), ".parquet", |path, _, batches| {
            let mut props = WriterProperties::builder().set_compression(compression);
            for f in &schema.fields {
                if f.data_type == DataType::Float64 {
                    props = props.set_column_dictionary_enabled(f.name.as_str().into(), false);
                }
            }
            let props = props.build();
            let mut w = ArrowWriter::try_new(create_file(path)?, Arc::clone(&arrow), Some(props))
                .map_err(|e| job_err(path, e))?;
            for b in &batches {
                w.write(&b.0).map_err(|e| job_err(path, e))?;
            }
            let file = w.into_inner().map_err(|e| job_err(path, e))?;
            file.sync_all().map_err(io_err(path))
        })
    }

    /// Writes one `part-NNNNN.arrow` Arrow IPC file per partition into directory `dir`
    /// (which must not exist), through the temporary-directory-then-rename protocol of
    /// [`Rdd::save_as_text_file`]. The batches' columns must have `schema`'s types.
    ///
    /// # Errors
    /// I/O and Arrow errors; a batch of another schema.
    pub fn save_batches_as_ipc(
        &self,
        ctx: &Context<'_>,
        dir: impl AsRef<Path>,
        schema: &Schema,
    ) -> Result<()> {
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        self.save_partitions(ctx, dir.as_ref(), ".arrow", |path, _, batches| {
            let mut w = arrow_ipc::writer::FileWriter::try_new_buffered(create_file(path)?, &arrow)
                .map_err(|e| job_err(path, e))?;
            for b in &batches {
                w.write(&b.0).map_err(|e| job_err(path, e))?;
            }
            let file = w
                .into_inner()
                .map_err(|e| job_err(path, e))?
                .into_inner()
                .map_err(|e| Error::Io {
                    path: path.to_owned(),
                    source: e.into_error(),
                })?;
            file.sync_all().map_err(io_err(path))
        })
    }
}

/// The schema [`Rdd::read_csv`] would give `path` (a file or a directory of them), read
/// without a context: the header and a sample of records only.
///
/// # Errors
/// I/O errors; no input files.
pub fn csv_schema(path: &Path, options: &CsvOptions) -> Result<Schema> {
    Ok(CsvPlan::new(path, options, 1)?.schema)
}

/// The schema [`Rdd::read_parquet`] would give `path` (a file or a directory of them),
/// from the file footers only.
///
/// # Errors
/// I/O and Parquet errors; files whose schemas differ; a column of an unsupported type.
pub fn parquet_schema(path: &Path) -> Result<Schema> {
    let mut schema: Option<Schema> = None;
    for p in input_files(path)? {
        let f = File::open(&p).map_err(io_err(&p))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| job_err(&p, e))?;
        let s = Schema::from_arrow(builder.schema()).map_err(|e| job_err(&p, e))?;
        schema = Some(merge_schema(schema, s, &p)?);
    }
    Ok(schema.unwrap_or_default())
}

/// The schema [`Rdd::read_ipc`] would give `path` (a file or a directory of them).
///
/// # Errors
/// I/O and Arrow errors; files whose schemas differ; a column of an unsupported type.
pub fn ipc_schema(path: &Path) -> Result<Schema> {
    let mut schema: Option<Schema> = None;
    for p in input_files(path)? {
        let f = File::open(&p).map_err(io_err(&p))?;
        let reader =
            arrow_ipc::reader::FileReader::try_new_buffered(f, None).map_err(|e| job_err(&p, e))?;
        let s = Schema::from_arrow(&reader.schema()).map_err(|e| job_err(&p, e))?;
        schema = Some(merge_schema(schema, s, &p)?);
    }
    Ok(schema.unwrap_or_default())
}

/// The schema shared by all input files: the same names and types (nullable if any file's
/// column is).
fn merge_schema(acc: Option<Schema>, s: Schema, path: &Path) -> Result<Schema> {
    let Some(mut acc) = acc else {
        return Ok(s);
    };
    let same = acc.len() == s.len()
        && acc
            .fields
            .iter()
            .zip(&s.fields)
            .all(|(a, b)| a.name == b.name && a.data_type == b.data_type);
    if !same {
        return Err(job_err(
            path,
            "its schema differs from the first file's".to_owned(),
        ));
    }
    for (a, b) in acc.fields.iter_mut().zip(&s.fields) {
        a.nullable |= b.nullable;
    }
    Ok(acc)
}

impl<T: Item> Rdd<T> {
    /// Reads CSV like [`Rdd::read_csv`], converting each row into a serde record by column
    /// name (see [`dataset::from_row`](crate::dataset::from_row)).
    ///
    /// # Errors
    /// As [`Rdd::read_csv`]; a value that does not fit the record fails the job, naming the
    /// file, line and column.
    pub fn read_csv_as(
        ctx: &Context<'_>,
        path: impl AsRef<Path>,
        options: &CsvOptions,
        partitions: usize,
    ) -> Result<Rdd<T>> {
        let (_, rdd) = csv_source(ctx, path.as_ref(), options, partitions, |schema| {
            let schema = schema.clone();
            Rc::new(move |row| record_from_row::<T>(&schema, row)) as Convert<T>
        })?;
        Ok(rdd)
    }

    /// Converts serde records into rows of `schema` by field name (see
    /// [`dataset::to_row`](crate::dataset::to_row)), to save them with
    /// [`Rdd::save_as_csv`], [`Rdd::save_as_parquet`] or [`Rdd::save_as_ipc`].
    ///
    /// # Errors
    /// (When computed.) A record that does not fit the schema fails the job, naming the row
    /// (partition and index) and the column.
    pub fn to_rows(&self, schema: &Schema) -> Rdd<Row> {
        let schema = schema.clone();
        Rdd::from_node(MapPartitions {
            parent: Rc::clone(&self.node),
            f: Rc::new(move |p, records: Vec<T>| {
                records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        record_to_row(&schema, r)
                            .map_err(|e| Error::Job(format!("partition {p}, row {i}: {e}")))
                    })
                    .collect()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_follows_the_documented_order() {
        let cells = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(infer_type(&cells(&["1", "", "-3"])), DataType::Int64);
        assert_eq!(infer_type(&cells(&["1", "2.5"])), DataType::Float64);
        assert_eq!(infer_type(&cells(&["NaN", "inf"])), DataType::Utf8);
        assert_eq!(infer_type(&cells(&["true", "FALSE"])), DataType::Bool);
        assert_eq!(infer_type(&cells(&["true", "1"])), DataType::Utf8);
        assert_eq!(infer_type(&cells(&["", ""])), DataType::Utf8);
    }

    #[test]
    fn cells_parse_by_type_and_nullability() {
        let f = |t, nullable| Field::new("x", t, nullable);
        assert_eq!(
            parse_cell(b" 42 ", &f(DataType::Int64, false)),
            Ok(Value::Int(42))
        );
        assert_eq!(parse_cell(b"", &f(DataType::Int64, true)), Ok(Value::Null));
        assert!(parse_cell(b"", &f(DataType::Int64, false)).is_err());
        assert_eq!(
            parse_cell(b"", &f(DataType::Utf8, false)),
            Ok(Value::from(""))
        );
        assert_eq!(
            parse_cell(b"True", &f(DataType::Bool, false)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            parse_cell(b"1.5e3", &f(DataType::Float64, false)),
            Ok(Value::Float(1500.0))
        );
        let e = parse_cell(b"x1", &f(DataType::Int64, false)).unwrap_err();
        assert_eq!(e, "cannot parse \"x1\" as Int64");
    }
}
