//! A small, dynamically typed row model for tabular sources and sinks (CSV, Parquet, Arrow
//! IPC): a [`Schema`] of named, typed, nullable [`Field`]s and rows of [`Value`]s.
//!
//! Rows convert to and from serde-typed records by column name: [`from_row`] deserializes
//! a record (struct fields are matched to columns by name, `Option` fields take nulls), and
//! [`to_row`] serializes one into a row of a schema.
//!
//! ```
//! use morpheus_rdd::dataset::{from_row, to_row, DataType, Field, Schema, Value};
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Person { name: String, age: Option<u32> }
//! let schema = Schema::new(vec![
//!     Field::new("name", DataType::Utf8, false),
//!     Field::new("age", DataType::Int64, true),
//! ]);
//! let row = vec![Value::from("Ada"), Value::Null];
//! let p: Person = from_row(&schema, row.clone())?;
//! assert_eq!(p, Person { name: "Ada".into(), age: None });
//! assert_eq!(to_row(&schema, &p)?, row);
//! # Ok::<(), morpheus_rdd::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use morpheus_engine::{Error, Result};
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::{ser, Deserialize, Serialize};

/// Column types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// `true` / `false`.
    Bool,
    /// 64-bit signed integers.
    Int64,
    /// 64-bit floating point numbers.
    Float64,
    /// UTF-8 strings.
    Utf8,
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataType::Bool => "Bool",
            DataType::Int64 => "Int64",
            DataType::Float64 => "Float64",
            DataType::Utf8 => "Utf8",
        })
    }
}

/// A named, typed column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Type of the column's values.
    pub data_type: DataType,
    /// Whether the column may hold [`Value::Null`].
    pub nullable: bool,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            data_type,
            nullable,
        }
    }
}

/// The columns of a dataset, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schema {
    /// The columns.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema of `fields`.
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields }
    }

    /// Position of the (first) column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The column called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Checks that `row` fits: one value per column, each of the column's type (an `Int`
    /// in a `Float64` column is accepted), nulls only in nullable columns. The message
    /// names the column.
    pub fn check_row(&self, row: &[Value]) -> std::result::Result<(), String> {
        if row.len() != self.fields.len() {
            return Err(format!(
                "row has {} values, the schema has {} columns",
                row.len(),
                self.fields.len()
            ));
        }
        for (f, v) in self.fields.iter().zip(row) {
            check_value(f, v)?;
        }
        Ok(())
    }
}

/// Whether `v` may be stored in column `f` (see [`Schema::check_row`]).
pub(crate) fn check_value(f: &Field, v: &Value) -> std::result::Result<(), String> {
    let ok = match (f.data_type, v) {
        (_, Value::Null) => f.nullable,
        (DataType::Bool, Value::Bool(_))
        | (DataType::Int64, Value::Int(_))
        | (DataType::Float64, Value::Float(_) | Value::Int(_))
        | (DataType::Utf8, Value::Str(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else if v.is_null() {
        Err(format!(
            "column `{}`: null in a non-nullable column",
            f.name
        ))
    } else {
        Err(format!(
            "column `{}`: expected {}, found {v:?}",
            f.name, f.data_type
        ))
    }
}

/// One cell.
///
/// Equality, hashing and ordering are total, so values (and rows) can be keys of pair
/// collections, be sorted and deduplicated: nulls sort first, then booleans, integers,
/// floats and strings; floats compare with [`f64::total_cmp`] (so `NaN == NaN` and
/// `-0.0 < 0.0`). An `Int` never equals a `Float`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

/// A row: one value per column of its schema.
pub type Row = Vec<Value>;

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of the value (`None` for null).
    pub fn data_type(&self) -> Option<DataType> {
        match self {
            Value::Null => None,
            Value::Bool(_) => Some(DataType::Bool),
            Value::Int(_) => Some(DataType::Int64),
            Value::Float(_) => Some(DataType::Float64),
            Value::Str(_) => Some(DataType::Utf8),
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if this is an integer or a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
        }
    }

    /// The total order described on [`Value`] (what `Ord` uses).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(x) => x.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
        }
    }
}

/// `null`, `true`/`false`, integers in decimal, floats so that they read back as floats
/// (`1.0`, `1e300`, `NaN`, `inf`), strings as they are.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// How to read (and write) CSV files.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// Whether the first record of each file names the columns (default `true`). Without
    /// a header, columns are called `c0`, `c1`, …
    pub header: bool,
    /// Field delimiter (default `b','`).
    pub delimiter: u8,
    /// The columns; `None` (the default) infers them from the first
    /// [`CsvOptions::sample_rows`] records: `Int64` if every non-empty cell parses as an
    /// integer, else `Float64` if every one parses as a number, else `Bool` if every one
    /// is `true` or `false`, else `Utf8`. Inferred columns are nullable.
    pub schema: Option<Schema>,
    /// How many records schema inference looks at (default 1000).
    pub sample_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            header: true,
            delimiter: b',',
            schema: None,
            sample_rows: 1000,
        }
    }
}

impl CsvOptions {
    /// With (`true`) or without a header record.
    pub fn with_header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// With another field delimiter.
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// With a known schema instead of inference.
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }
}

/// Compression of Parquet output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParquetCompression {
    /// Uncompressed.
    None,
    /// Snappy: fast, read by every Parquet tool (the default).
    #[default]
    Snappy,
    /// Zstandard at a level (1–22): smaller files, slower to write.
    Zstd(i32),
}

// ---------------------------------------------------------------------------------------
// Rows to and from serde records.

/// Error of the row (de)serializers: a message.
#[derive(Debug)]
struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

impl de::Error for RecordError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RecordError(msg.to_string())
    }
}

impl ser::Error for RecordError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RecordError(msg.to_string())
    }
}

/// Deserializes a record from `row` (of `schema`): a struct or map takes columns by name
/// (unknown columns are ignored, missing ones are `None` for `Option` fields and an error
/// otherwise), a tuple or sequence takes them by position.
///
/// # Errors
/// [`Error::Job`] naming the column when a value does not fit the record's field.
pub fn from_row<T: DeserializeOwned>(schema: &Schema, row: Row) -> Result<T> {
    record_from_row(schema, row).map_err(Error::Job)
}

/// [`from_row`] with the bare message.
pub(crate) fn record_from_row<T: DeserializeOwned>(
    schema: &Schema,
    row: Row,
) -> std::result::Result<T, String> {
    if row.len() != schema.len() {
        return Err(format!(
            "row has {} values, the schema has {} columns",
            row.len(),
            schema.len()
        ));
    }
    T::deserialize(RowDeserializer { schema, row }).map_err(|e| e.0)
}

/// Serializes `record` (a struct or map by field name, or a tuple or sequence by position)
/// into a row of `schema`. Fields must name columns; columns without a field are null;
/// integers are accepted in `Float64` columns.
///
/// # Errors
/// [`Error::Job`] naming the column when a field does not fit it.
pub fn to_row<T: Serialize + ?Sized>(schema: &Schema, record: &T) -> Result<Row> {
    record_to_row(schema, record).map_err(Error::Job)
}

/// [`to_row`] with the bare message.
pub(crate) fn record_to_row<T: Serialize + ?Sized>(
    schema: &Schema,
    record: &T,
) -> std::result::Result<Row, String> {
    let slots = record
        .serialize(RowSerializer { schema })
        .map_err(|e| e.0)?;
    let mut row = Vec::with_capacity(schema.len());
    for (f, slot) in schema.fields.iter().zip(slots) {
        let v = match (f.data_type, slot.unwrap_or(Value::Null)) {
            (DataType::Float64, Value::Int(i)) => Value::Float(i as f64),
            (_, v) => v,
        };
        check_value(f, &v)?;
        row.push(v);
    }
    Ok(row)
}

struct RowDeserializer<'s> {
    schema: &'s Schema,
    row: Row,
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'_> {
    type Error = RecordError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        visitor.visit_map(RowMap {
            names: self.schema.fields.iter(),
            values: self.row.into_iter(),
            current: "",
        })
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        visitor.visit_seq(RowSeq {
            names: self.schema.fields.iter(),
            values: self.row.into_iter(),
        })
    }

    fn deserialize_tuple<V: de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct enum identifier ignored_any
    }
}

struct RowMap<'s> {
    names: std::slice::Iter<'s, Field>,
    values: std::vec::IntoIter<Value>,
    current: &'s str,
}

impl<'de> de::MapAccess<'de> for RowMap<'_> {
    type Error = RecordError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RecordError> {
        match self.names.next() {
            Some(f) => {
                self.current = &f.name;
                seed.deserialize(de::value::StrDeserializer::<RecordError>::new(&f.name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, RecordError> {
        let v = self.values.next().unwrap_or(Value::Null);
        seed.deserialize(ValueDeserializer(v))
            .map_err(|e| RecordError(format!("column `{}`: {e}", self.current)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.names.len())
    }
}

struct RowSeq<'s> {
    names: std::slice::Iter<'s, Field>,
    values: std::vec::IntoIter<Value>,
}

impl<'de> de::SeqAccess<'de> for RowSeq<'_> {
    type Error = RecordError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, RecordError> {
        match (self.names.next(), self.values.next()) {
            (Some(f), Some(v)) => seed
                .deserialize(ValueDeserializer(v))
                .map(Some)
                .map_err(|e| RecordError(format!("column `{}`: {e}", f.name))),
            _ => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

struct ValueDeserializer(Value);

/// Scalar targets: a null is an error that says "null" (not "unit value").
macro_rules! not_null {
    ($($method:ident)*) => {
        $(
            fn $method<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
                if self.0.is_null() {
                    return Err(de::Error::invalid_type(self.unexpected(), &visitor));
                }
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl ValueDeserializer {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match &self.0 {
            Value::Null => de::Unexpected::Other("null"),
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => de::Unexpected::Signed(*i),
            Value::Float(x) => de::Unexpected::Float(*x),
            Value::Str(s) => de::Unexpected::Str(s),
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = RecordError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Float(x) => visitor.visit_f64(x),
            Value::Str(s) => visitor.visit_string(s),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// Numbers and booleans are accepted where a string is wanted.
    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        match self.0 {
            Value::Null => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
            Value::Str(s) => visitor.visit_string(s),
            other => visitor.visit_string(other.to_string()),
        }
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, RecordError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        match self.0 {
            Value::Str(s) => visitor.visit_enum(s.into_deserializer()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, RecordError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }

    not_null! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
    }
}

/// Serializes a record into one optional value per column of the schema.
struct RowSerializer<'s> {
    schema: &'s Schema,
}

type Slots = Vec<Option<Value>>;

fn not_a_record<T>() -> Result<T, RecordError> {
    Err(RecordError(
        "a record must be a struct, a map, a tuple or a sequence".into(),
    ))
}

impl<'s> ser::Serializer for RowSerializer<'s> {
    type Ok = Slots;
    type Error = RecordError;
    type SerializeSeq = RowByPosition<'s>;
    type SerializeTuple = RowByPosition<'s>;
    type SerializeTupleStruct = RowByPosition<'s>;
    type SerializeTupleVariant = ser::Impossible<Slots, RecordError>;
    type SerializeMap = RowByName<'s>;
    type SerializeStruct = RowByName<'s>;
    type SerializeStructVariant = ser::Impossible<Slots, RecordError>;

    fn serialize_bool(self, _: bool) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_i8(self, _: i8) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_i16(self, _: i16) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_i32(self, _: i32) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_i64(self, _: i64) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_u8(self, _: u8) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_u16(self, _: u16) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_u32(self, _: u32) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_u64(self, _: u64) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_f32(self, _: f32) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_f64(self, _: f64) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_char(self, _: char) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_str(self, _: &str) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_none(self) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Slots, RecordError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Slots, RecordError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Slots, RecordError> {
        not_a_record()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<RowByPosition<'s>, RecordError> {
        Ok(RowByPosition::new(self.schema))
    }
    fn serialize_tuple(self, _: usize) -> Result<RowByPosition<'s>, RecordError> {
        Ok(RowByPosition::new(self.schema))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<RowByPosition<'s>, RecordError> {
        Ok(RowByPosition::new(self.schema))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RecordError> {
        not_a_record()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<RowByName<'s>, RecordError> {
        Ok(RowByName::new(self.schema))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<RowByName<'s>, RecordError> {
        Ok(RowByName::new(self.schema))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RecordError> {
        not_a_record()
    }
}

/// A record's fields by column position.
struct RowByPosition<'s> {
    schema: &'s Schema,
    slots: Slots,
}

impl<'s> RowByPosition<'s> {
    fn new(schema: &'s Schema) -> Self {
        Self {
            schema,
            slots: Vec::with_capacity(schema.len()),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RecordError> {
        let i = self.slots.len();
        let Some(f) = self.schema.fields.get(i) else {
            return Err(RecordError(format!(
                "the record has more than the schema's {} columns",
                self.schema.len()
            )));
        };
        let v = v
            .serialize(ValueSerializer)
            .map_err(|e| RecordError(format!("column `{}`: {e}", f.name)))?;
        self.slots.push(Some(v));
        Ok(())
    }

    fn end(mut self) -> Result<Slots, RecordError> {
        self.slots.resize(self.schema.len(), None);
        Ok(self.slots)
    }
}

impl ser::SerializeSeq for RowByPosition<'_> {
    type Ok = Slots;
    type Error = RecordError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RecordError> {
        self.push(v)
    }
    fn end(self) -> Result<Slots, RecordError> {
        RowByPosition::end(self)
    }
}

impl ser::SerializeTuple for RowByPosition<'_> {
    type Ok = Slots;
    type Error = RecordError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RecordError> {
        self.push(v)
    }
    fn end(self) -> Result<Slots, RecordError> {
        RowByPosition::end(self)
    }
}

impl ser::SerializeTupleStruct for RowByPosition<'_> {
    type Ok = Slots;
    type Error = RecordError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RecordError> {
        self.push(v)
    }
    fn end(self) -> Result<Slots, RecordError> {
        RowByPosition::end(self)
    }
}

/// A record's fields by column name.
struct RowByName<'s> {
    schema: &'s Schema,
    slots: Slots,
    key: Option<String>,
}

impl<'s> RowByName<'s> {
    fn new(schema: &'s Schema) -> Self {
        Self {
            schema,
            slots: vec![None; schema.len()],
            key: None,
        }
    }

    fn set<T: Serialize + ?Sized>(&mut self, name: &str, v: &T) -> Result<(), RecordError> {
        let Some(i) = self.schema.index_of(name) else {
            return Err(RecordError(format!(
                "field `{name}` is not a column of the schema"
            )));
        };
        let v = v
            .serialize(ValueSerializer)
            .map_err(|e| RecordError(format!("column `{name}`: {e}")))?;
        self.slots[i] = Some(v);
        Ok(())
    }
}

impl ser::SerializeStruct for RowByName<'_> {
    type Ok = Slots;
    type Error = RecordError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), RecordError> {
        self.set(name, v)
    }
    fn end(self) -> Result<Slots, RecordError> {
        Ok(self.slots)
    }
}

impl ser::SerializeMap for RowByName<'_> {
    type Ok = Slots;
    type Error = RecordError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), RecordError> {
        match key.serialize(ValueSerializer)? {
            Value::Str(s) => {
                self.key = Some(s);
                Ok(())
            }
            other => Err(RecordError(format!(
                "map keys must be column names, found {other:?}"
            ))),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RecordError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| RecordError("map value without a key".into()))?;
        self.set(&key, v)
    }
    fn end(self) -> Result<Slots, RecordError> {
        Ok(self.slots)
    }
}

/// Serializes one field into a [`Value`].
struct ValueSerializer;

fn nested<T>() -> Result<T, RecordError> {
    Err(RecordError(
        "nested values (sequences, maps, structs, enum payloads) are not supported".into(),
    ))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = RecordError;
    type SerializeSeq = ser::Impossible<Value, RecordError>;
    type SerializeTuple = ser::Impossible<Value, RecordError>;
    type SerializeTupleStruct = ser::Impossible<Value, RecordError>;
    type SerializeTupleVariant = ser::Impossible<Value, RecordError>;
    type SerializeMap = ser::Impossible<Value, RecordError>;
    type SerializeStruct = ser::Impossible<Value, RecordError>;
    type SerializeStructVariant = ser::Impossible<Value, RecordError>;

    fn serialize_bool(self, v: bool) -> Result<Value, RecordError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, RecordError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, RecordError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| RecordError(format!("{v} does not fit in Int64")))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, RecordError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, RecordError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| RecordError(format!("{v} does not fit in Int64")))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, RecordError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| RecordError(format!("{v} does not fit in Int64")))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, RecordError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, RecordError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, RecordError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, RecordError> {
        Ok(Value::Str(v.to_owned()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, RecordError> {
        nested()
    }
    fn serialize_none(self) -> Result<Value, RecordError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, RecordError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, RecordError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, RecordError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, RecordError> {
        Ok(Value::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, RecordError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value, RecordError> {
        nested()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, RecordError> {
        nested()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, RecordError> {
        nested()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, RecordError> {
        nested()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RecordError> {
        nested()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, RecordError> {
        nested()
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, RecordError> {
        nested()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RecordError> {
        nested()
    }
}
