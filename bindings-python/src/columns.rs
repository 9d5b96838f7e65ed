//! Columnar data in and out, without a Python object per row.
//!
//! In: anything that speaks the Arrow PyCapsule interface (`pyarrow` tables
//! and record batches, `polars` and `pandas` (2.2+) DataFrames, DuckDB
//! results), or a dict of columns (Arrow arrays, numpy arrays, pandas or
//! polars Series, or plain lists). Each row is read as the same JSON form the
//! row-by-row path reads, so validation and error paths are identical.
//! Out: an Arrow table (`__arrow_c_stream__`), which `pyarrow.table(t)`,
//! `polars.DataFrame(t)` or `pandas.DataFrame(pyarrow.table(t))` take without
//! copying.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int64Type, TimestampMicrosecondType, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use patron::model::Timestamp;
use patron::model::scalar::{ATTRIBUTE_DATETIME_MARKER, DATE_MARKER, DATETIME_MARKER};
use patron::parse::Model;
use patron::purchase::{Keys, PurchaseColumns};
use patron::recommend::{BasketColumns, BasketKind};
use patron::rfm::RfmScore;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3_arrow::PyTable;
use pyo3_arrow::input::{AnyArray, AnyRecordBatch};
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Map, Number, Value};

use crate::convert::to_value;

/// Arrow counts dates in days from this one.
const UNIX_EPOCH_DAY: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

/// Whether `data` is columnar: an Arrow object or a dict of columns.
pub fn is_columnar(data: &Bound<'_, PyAny>) -> bool {
    data.is_instance_of::<PyDict>()
        || data.hasattr("__arrow_c_stream__").unwrap_or(false)
        || data.hasattr("__arrow_c_array__").unwrap_or(false)
}

/// A table read from Python: one column per name, all of one length.
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    len: usize,
}

enum Column {
    Arrow(ArrayRef),
    /// A plain Python sequence, read value by value.
    Values(Vec<Value>),
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> patron::Error {
    patron::Error::invalid(path, message)
}

/// Reads columnar `data`; errors name the argument (`customers.revenue`).
pub fn read_table(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Table> {
    let mut names = Vec::new();
    let mut columns = Vec::new();
    if let Ok(dict) = data.cast::<PyDict>() {
        for (key, value) in dict.iter() {
            let key: String = key
                .cast::<PyString>()
                .map_err(|_| invalid(name, "a dict of columns needs text keys"))?
                .to_string();
            let column = match value.extract::<AnyArray>() {
                Ok(array) => {
                    let chunked = array
                        .into_chunked_array()
                        .map_err(|e| invalid(format!("{name}.{key}"), e.to_string()))?;
                    let chunks: Vec<&dyn Array> =
                        chunked.chunks().iter().map(|c| c.as_ref()).collect();
                    let array = arrow_select_concat(&chunks)
                        .map_err(|e| invalid(format!("{name}.{key}"), e))?;
                    Column::Arrow(canonical(array, &format!("{name}.{key}"))?)
                }
                Err(_) => {
                    // numpy object arrays (text) and the like: their values as a list.
                    let value = match value.getattr("tolist") {
                        Ok(tolist) => tolist
                            .call0()
                            .map_err(|e| invalid(format!("{name}.{key}"), e.to_string()))?,
                        Err(_) => value,
                    };
                    let not_a_column = || {
                        invalid(
                            format!("{name}.{key}"),
                            "expected a column: an array, a Series or a list",
                        )
                    };
                    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyDict>() {
                        return Err(not_a_column());
                    }
                    let items = value.try_iter().map_err(|_| not_a_column())?;
                    let mut values = Vec::new();
                    for (i, item) in items.enumerate() {
                        let item =
                            item.map_err(|e| invalid(format!("{name}.{key}"), e.to_string()))?;
                        values.push(to_value(&item).map_err(|e| {
                            e.into_core()
                                .within(&key)
                                .within(&format!("[{i}]"))
                                .within(name)
                        })?);
                    }
                    Column::Values(values)
                }
            };
            names.push(key);
            columns.push(column);
        }
    } else {
        let batches = data
            .extract::<AnyRecordBatch>()
            .map_err(|e| invalid(name, format!("cannot read an Arrow table: {e}")))?;
        let table = batches
            .into_table()
            .map_err(|e| invalid(name, format!("cannot read an Arrow table: {e}")))?;
        let (batches, schema) = table.into_inner();
        // A table read from a file comes in many chunks: each column is
        // joined into one, the columns in parallel and without the GIL.
        let joined: Vec<patron::Result<ArrayRef>> = data.py().detach(|| {
            schema
                .fields()
                .par_iter()
                .enumerate()
                .map(|(i, field)| {
                    let chunks: Vec<&dyn Array> =
                        batches.iter().map(|b| b.column(i).as_ref()).collect();
                    let path = format!("{name}.{}", field.name());
                    let array = if chunks.is_empty() {
                        arrow_array::new_empty_array(field.data_type())
                    } else {
                        arrow_select_concat(&chunks).map_err(|e| invalid(&path, e))?
                    };
                    canonical(array, &path)
                })
                .collect()
        });
        for (field, array) in schema.fields().iter().zip(joined) {
            names.push(field.name().clone());
            columns.push(Column::Arrow(array?));
        }
    }
    let lengths: Vec<usize> = columns
        .iter()
        .map(|c| match c {
            Column::Arrow(a) => a.len(),
            Column::Values(v) => v.len(),
        })
        .collect();
    let len = lengths.first().copied().unwrap_or(0);
    if let Some(i) = lengths.iter().position(|&l| l != len) {
        return Err(invalid(
            format!("{name}.{}", names[i]),
            format!(
                "columns differ in length: `{}` has {len} rows, `{}` has {}",
                names[0], names[i], lengths[i]
            ),
        ));
    }
    Ok(Table {
        names,
        columns,
        len,
    })
}

fn arrow_select_concat(chunks: &[&dyn Array]) -> Result<ArrayRef, String> {
    match chunks {
        [one] => Ok(arrow_array::make_array(one.to_data())),
        _ => arrow_select::concat::concat(chunks).map_err(|e| e.to_string()),
    }
}

/// One type per kind of value, so that rows read with a few cases.
fn canonical(array: ArrayRef, path: &str) -> patron::Result<ArrayRef> {
    let target = match array.data_type() {
        DataType::Null | DataType::Boolean => return Ok(array),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Dictionary(_, value) if value.is_string() => DataType::Utf8,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DataType::Int64,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            DataType::UInt64
        }
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DataType::Float64,
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, Some(_)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        DataType::Timestamp(_, None) => {
            return Err(invalid(
                path,
                "timestamps without a time zone are ambiguous; give the column a zone \
                 (pandas: .dt.tz_localize(\"UTC\"), polars: .dt.replace_time_zone(\"UTC\"))",
            ));
        }
        other => {
            return Err(invalid(
                path,
                format!("patron does not read columns of type {other}"),
            ));
        }
    };
    if array.data_type() == &target {
        return Ok(array);
    }
    arrow_cast::cast(&array, &target).map_err(|e| invalid(path, e.to_string()))
}

impl Table {
    /// Row `row` as the JSON form the row-by-row path reads; nulls are left out.
    fn row(&self, row: usize) -> patron::Result<Value> {
        let mut map = Map::with_capacity(self.names.len());
        for (name, column) in self.names.iter().zip(&self.columns) {
            let value = match column {
                Column::Values(values) => values[row].clone(),
                Column::Arrow(array) => {
                    cell(array, row).map_err(|m| invalid(format!("[{row}].{name}"), m))?
                }
            };
            if !value.is_null() {
                map.insert(name.clone(), value);
            }
        }
        Ok(Value::Object(map))
    }

    /// Every row read as `T`, in parallel; an error's path starts with the
    /// argument's name and the row: `customers[3].revenue`.
    pub fn rows<T: Model + Send>(&self, name: &str) -> patron::Result<Vec<T>> {
        let read: Vec<patron::Result<T>> = (0..self.len)
            .into_par_iter()
            .map(|i| {
                let value = self.row(i)?;
                T::from_value(value).map_err(|e| e.within(&format!("[{i}]")))
            })
            .collect();
        read.into_iter()
            .collect::<patron::Result<Vec<T>>>()
            .map_err(|e| e.within(name))
    }
}

fn cell(array: &ArrayRef, row: usize) -> Result<Value, String> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            Value::Number(
                Number::from_f64(v).ok_or_else(|| format!("expected a finite number, got {v}"))?,
            )
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = UNIX_EPOCH_DAY
                .checked_add_signed(chrono::Duration::days(days.into()))
                .ok_or_else(|| format!("date out of range: {days} days from 1970"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        DataType::Timestamp(..) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            let at = DateTime::<Utc>::from_timestamp_micros(micros)
                .ok_or_else(|| format!("timestamp out of range: {micros} us from 1970"))?;
            Value::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        _ => Value::Null,
    })
}

/// The purchase columns of a table, read in place when every column is an
/// Arrow array of the usual type; `None` when some column needs the row path
/// (text times, plain lists), which reads the same rows more slowly.
pub fn purchase_columns(table: &Table, name: &str) -> patron::Result<Option<PurchaseArrays>> {
    const NAMES: [&str; 4] = ["contact_id", "order_id", "at", "amount"];
    let mut found: [Option<&ArrayRef>; 4] = [None; 4];
    for (column_name, column) in table.names.iter().zip(&table.columns) {
        let Some(slot) = NAMES.iter().position(|n| n == column_name) else {
            return Ok(None);
        };
        let Column::Arrow(array) = column else {
            return Ok(None);
        };
        if array.null_count() > 0
            && let Some(row) = (0..array.len()).find(|&r| array.is_null(r))
        {
            if slot == 1 {
                return Ok(None);
            }
            return Err(invalid(
                format!("{name}[{row}].{column_name}"),
                "missing value",
            ));
        }
        found[slot] = Some(array);
    }
    let [Some(contacts), orders, Some(at), Some(amounts)] = found else {
        return Ok(None);
    };
    let keys_ok = |a: &ArrayRef| matches!(a.data_type(), DataType::Utf8 | DataType::Int64);
    if !keys_ok(contacts)
        || orders.is_some_and(|o| !keys_ok(o))
        || !matches!(at.data_type(), DataType::Timestamp(..))
        || !matches!(amounts.data_type(), DataType::Float64 | DataType::Int64)
    {
        return Ok(None);
    }
    let amounts = arrow_cast::cast(amounts, &DataType::Float64)
        .map_err(|e| invalid(format!("{name}.amount"), e.to_string()))?;
    Ok(Some(PurchaseArrays {
        contacts: contacts.clone(),
        orders: orders.cloned(),
        at: at.clone(),
        amounts,
    }))
}

/// Arrow arrays of purchases, borrowed as [`PurchaseColumns`].
pub struct PurchaseArrays {
    contacts: ArrayRef,
    orders: Option<ArrayRef>,
    at: ArrayRef,
    amounts: ArrayRef,
}

fn keys(array: &ArrayRef) -> Keys<'_> {
    match array.data_type() {
        DataType::Int64 => Keys::Int(array.as_primitive::<Int64Type>().values()),
        _ => {
            let strings = array.as_string::<i32>();
            Keys::Text {
                offsets: strings.value_offsets(),
                bytes: strings.value_data(),
            }
        }
    }
}

impl PurchaseArrays {
    /// The columns, borrowed.
    pub fn columns(&self) -> PurchaseColumns<'_> {
        PurchaseColumns {
            contact_ids: keys(&self.contacts),
            order_ids: self.orders.as_ref().map(keys),
            at_micros: self.at.as_primitive::<TimestampMicrosecondType>().values(),
            amounts: self.amounts.as_primitive::<Float64Type>().values(),
        }
    }
}

/// Results as an Arrow table: one column per field, typed by its values
/// (timestamps as `timestamp[us, UTC]`, dates as `date32`, nested values as
/// JSON text).
pub fn to_table<'py, T: Serialize>(py: Python<'py>, items: &[T]) -> PyResult<Bound<'py, PyAny>> {
    let mut builder = TableBuilder::default();
    for (row, item) in items.iter().enumerate() {
        builder.row = row;
        item.serialize(RowSerializer(&mut builder))
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))?;
    }
    let (fields, arrays) = builder.finish(items.len());
    let schema = Arc::new(Schema::new(fields));
    let options = RecordBatchOptions::new().with_row_count(Some(items.len()));
    let batch = RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let table = PyTable::try_new(vec![batch], schema)?;
    Ok(table.into_pyobject(py)?.into_any())
}

impl PurchaseArrays {
    /// The RFM of these purchases as Arrow columns, with the columns of
    /// [`rfm_table`]: ids taken from the contact column by each customer's
    /// first row, cells and segments written from one label per cell. The
    /// large columns are built in parallel; the measures move without a copy.
    pub fn rfm_columns(
        &self,
        rfm: patron::purchase::RfmColumns,
    ) -> Result<Vec<(&'static str, ArrayRef)>, arrow_schema::ArrowError> {
        let n = rfm.first_rows.len();
        let ((ids, scores), (cells, segments)) = rayon::join(
            || {
                rayon::join(
                    || -> Result<ArrayRef, arrow_schema::ArrowError> {
                        let rows = arrow_array::UInt32Array::from(rfm.first_rows.clone());
                        let ids = arrow_select::take::take(&self.contacts, &rows, None)?;
                        if ids.data_type() == &DataType::Utf8 {
                            Ok(ids)
                        } else {
                            arrow_cast::cast(&ids, &DataType::Utf8)
                        }
                    },
                    || {
                        [&rfm.r, &rfm.f, &rfm.m].map(|v| -> ArrayRef {
                            Arc::new(UInt64Array::from_iter_values(
                                v.iter().map(|s| u64::from(*s)),
                            ))
                        })
                    },
                )
            },
            || {
                rayon::join(
                    || labels(&rfm, |r, f, m| Some(rfm.labels.cell(r, f, m))),
                    || {
                        (rfm.labels.has_segments() && n > 0)
                            .then(|| labels(&rfm, |r, f, m| rfm.labels.segment(r, f, m)))
                    },
                )
            },
        );
        let [r, f, m] = scores;
        let mut columns: Vec<(&str, ArrayRef)> = vec![
            ("contact_id", ids?),
            (
                "recency_days",
                Arc::new(UInt64Array::from(rfm.recency_days)),
            ),
            ("frequency", Arc::new(Float64Array::from(rfm.frequency))),
            ("monetary", Arc::new(Float64Array::from(rfm.monetary))),
            ("r", r),
            ("f", f),
            ("m", m),
            ("cell", cells),
        ];
        if let Some(segments) = segments {
            columns.push(("segment", segments));
        }
        Ok(columns)
    }
}

/// A text column of one label per customer, by its three scores.
fn labels<'a>(
    rfm: &'a patron::purchase::RfmColumns,
    label: impl Fn(u8, u8, u8) -> Option<&'a str>,
) -> ArrayRef {
    let n = rfm.first_rows.len();
    let mut text = arrow_array::builder::StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        text.append_option(label(rfm.r[i], rfm.f[i], rfm.m[i]));
    }
    Arc::new(text.finish())
}

/// Named columns as an Arrow table of `rows` rows.
pub fn record_table<'py>(
    py: Python<'py>,
    columns: Vec<(&str, ArrayRef)>,
    rows: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let table = PyTable::try_new(vec![batch], schema)?;
    Ok(table.into_pyobject(py)?.into_any())
}

/// RFM scores as an Arrow table, built column by column (the generic path
/// above costs a value per cell; an order table gives a million rows).
pub fn rfm_table<'py>(py: Python<'py>, scores: &[RfmScore]) -> PyResult<Bound<'py, PyAny>> {
    let text = |f: &dyn Fn(&RfmScore) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(scores.iter().map(f)))
    };
    let uint = |f: &dyn Fn(&RfmScore) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(scores.iter().map(f)))
    };
    let float = |f: &dyn Fn(&RfmScore) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(scores.iter().map(f)))
    };
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("contact_id", text(&|s| Some(s.contact_id.as_str()))),
        ("recency_days", uint(&|s| s.recency_days)),
        ("frequency", float(&|s| s.frequency)),
        ("monetary", float(&|s| s.monetary)),
        ("r", uint(&|s| u64::from(s.r))),
        ("f", uint(&|s| u64::from(s.f))),
        ("m", uint(&|s| u64::from(s.m))),
        ("cell", text(&|s| Some(s.cell.as_str()))),
    ];
    if scores.iter().any(|s| s.segment.is_some()) {
        columns.push(("segment", text(&|s| s.segment.as_deref())));
    }
    record_table(py, columns, scores.len())
}

enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
    Time(i64),
    Date(i32),
}

#[derive(Default)]
struct TableBuilder {
    names: Vec<&'static str>,
    cells: Vec<Vec<Cell>>,
    row: usize,
}

impl TableBuilder {
    fn column(&mut self, name: &'static str) -> &mut Vec<Cell> {
        let i = match self.names.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                self.names.push(name);
                self.cells.push(Vec::new());
                self.names.len() - 1
            }
        };
        let column = &mut self.cells[i];
        // A field skipped in earlier rows is null there.
        while column.len() < self.row {
            column.push(Cell::Null);
        }
        column
    }

    fn finish(mut self, rows: usize) -> (Vec<Field>, Vec<ArrayRef>) {
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for (name, mut cells) in self.names.drain(..).zip(self.cells.drain(..)) {
            while cells.len() < rows {
                cells.push(Cell::Null);
            }
            let array = build(&cells);
            fields.push(Field::new(name, array.data_type().clone(), true));
            arrays.push(array);
        }
        (fields, arrays)
    }
}

/// One Arrow array from a column's cells, typed by the values it holds.
fn build(cells: &[Cell]) -> ArrayRef {
    let has = |f: fn(&Cell) -> bool| cells.iter().any(f);
    let only = |f: fn(&Cell) -> bool| cells.iter().all(|c| matches!(c, Cell::Null) || f(c));
    if only(|c| matches!(c, Cell::Time(_))) && has(|c| matches!(c, Cell::Time(_))) {
        let values = cells.iter().map(|c| match c {
            Cell::Time(t) => Some(*t),
            _ => None,
        });
        return Arc::new(TimestampMicrosecondArray::from_iter(values).with_timezone("UTC"));
    }
    if only(|c| matches!(c, Cell::Date(_))) && has(|c| matches!(c, Cell::Date(_))) {
        return Arc::new(Date32Array::from_iter(cells.iter().map(|c| match c {
            Cell::Date(d) => Some(*d),
            _ => None,
        })));
    }
    if only(|c| matches!(c, Cell::Bool(_))) && has(|c| matches!(c, Cell::Bool(_))) {
        return Arc::new(BooleanArray::from_iter(cells.iter().map(|c| match c {
            Cell::Bool(b) => Some(*b),
            _ => None,
        })));
    }
    if only(|c| matches!(c, Cell::UInt(_))) && has(|c| matches!(c, Cell::UInt(_))) {
        return Arc::new(UInt64Array::from_iter(cells.iter().map(|c| match c {
            Cell::UInt(v) => Some(*v),
            _ => None,
        })));
    }
    if only(|c| matches!(c, Cell::Int(_) | Cell::UInt(_)))
        && has(|c| matches!(c, Cell::Int(_) | Cell::UInt(_)))
    {
        return Arc::new(Int64Array::from_iter(cells.iter().map(|c| match c {
            Cell::Int(v) => Some(*v),
            Cell::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        })));
    }
    if only(|c| matches!(c, Cell::Int(_) | Cell::UInt(_) | Cell::Float(_)))
        && has(|c| matches!(c, Cell::Float(_)))
    {
        return Arc::new(Float64Array::from_iter(cells.iter().map(|c| match c {
            Cell::Int(v) => Some(*v as f64),
            Cell::UInt(v) => Some(*v as f64),
            Cell::Float(v) => Some(*v),
            _ => None,
        })));
    }
    Arc::new(StringArray::from_iter(cells.iter().map(|c| {
        match c {
            Cell::Null => None,
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Int(v) => Some(v.to_string()),
            Cell::UInt(v) => Some(v.to_string()),
            Cell::Float(v) => Some(v.to_string()),
            Cell::Text(t) => Some(t.clone()),
            Cell::Time(t) => DateTime::<Utc>::from_timestamp_micros(*t)
                .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Cell::Date(d) => {
                NaiveDate::from_num_days_from_ce_opt(*d + 719_163).map(|d| d.to_string())
            }
        }
    })))
}

#[derive(Debug)]
struct SerError(String);

impl std::fmt::Display for SerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        SerError(msg.to_string())
    }
}

/// Serializes one result (a struct) into the builder's columns.
struct RowSerializer<'a>(&'a mut TableBuilder);

impl<'a> ser::SerializeStruct for RowSerializer<'a> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), SerError> {
        // Nested values (a lifecycle move's cells) become JSON text.
        let cell = match value.serialize(CellSerializer) {
            Ok(cell) => cell,
            Err(_) => json_cell(value)?,
        };
        self.0.column(key).push(cell);
        Ok(())
    }
    fn end(self) -> Result<(), SerError> {
        Ok(())
    }
}

macro_rules! not_a_row {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, SerError> {
            Err(SerError("a columnar result must be a list of objects".into()))
        }
    )*};
}

impl<'a> ser::Serializer for RowSerializer<'a> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Impossible<(), SerError>;
    type SerializeTuple = Impossible<(), SerError>;
    type SerializeTupleStruct = Impossible<(), SerError>;
    type SerializeTupleVariant = Impossible<(), SerError>;
    type SerializeMap = Impossible<(), SerError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), SerError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, SerError> {
        Ok(self)
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<(), SerError> {
        value.serialize(self)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, value: &V) -> Result<(), SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), SerError> {
        Err(SerError(
            "a columnar result must be a list of objects".into(),
        ))
    }
    not_a_row! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> (); serialize_i16(i16) -> (); serialize_i32(i32) -> (); serialize_i64(i64) -> ();
        serialize_u8(u8) -> (); serialize_u16(u16) -> (); serialize_u32(u32) -> (); serialize_u64(u64) -> ();
        serialize_f32(f32) -> (); serialize_f64(f64) -> ();
        serialize_char(char) -> (); serialize_str(&str) -> (); serialize_bytes(&[u8]) -> ();
        serialize_none() -> (); serialize_unit() -> (); serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

/// One field's value as a cell; anything nested becomes JSON text.
struct CellSerializer;

fn json_cell<V: ?Sized + Serialize>(value: &V) -> Result<Cell, SerError> {
    serde_json::to_string(value)
        .map(Cell::Text)
        .map_err(|e| SerError(e.to_string()))
}

impl ser::Serializer for CellSerializer {
    type Ok = Cell;
    type Error = SerError;
    type SerializeSeq = Impossible<Cell, SerError>;
    type SerializeTuple = Impossible<Cell, SerError>;
    type SerializeTupleStruct = Impossible<Cell, SerError>;
    type SerializeTupleVariant = Impossible<Cell, SerError>;
    type SerializeMap = Impossible<Cell, SerError>;
    type SerializeStruct = Impossible<Cell, SerError>;
    type SerializeStructVariant = Impossible<Cell, SerError>;

    fn serialize_bool(self, v: bool) -> Result<Cell, SerError> {
        Ok(Cell::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Cell, SerError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Cell, SerError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Cell, SerError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Cell, SerError> {
        Ok(Cell::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Cell, SerError> {
        Ok(Cell::UInt(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Cell, SerError> {
        Ok(Cell::UInt(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Cell, SerError> {
        Ok(Cell::UInt(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Cell, SerError> {
        Ok(Cell::UInt(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Cell, SerError> {
        Ok(Cell::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Cell, SerError> {
        Ok(Cell::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Cell, SerError> {
        Ok(Cell::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Cell, SerError> {
        Ok(Cell::Text(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Cell, SerError> {
        json_cell(v)
    }
    fn serialize_none(self) -> Result<Cell, SerError> {
        Ok(Cell::Null)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, value: &V) -> Result<Cell, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Cell, SerError> {
        Ok(Cell::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, SerError> {
        Ok(Cell::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Cell, SerError> {
        Ok(Cell::Text(variant.to_owned()))
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &V,
    ) -> Result<Cell, SerError> {
        // The core writes timestamps and dates as marked text: keep their type.
        if name == DATETIME_MARKER || name == ATTRIBUTE_DATETIME_MARKER {
            if let Cell::Text(text) = value.serialize(CellSerializer)?
                && let Ok(at) = DateTime::parse_from_rfc3339(&text)
            {
                return Ok(Cell::Time(at.with_timezone(&Utc).timestamp_micros()));
            }
            return Err(SerError("a timestamp that is not RFC 3339 text".into()));
        }
        if name == DATE_MARKER {
            if let Cell::Text(text) = value.serialize(CellSerializer)?
                && let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            {
                return Ok(Cell::Date((date - UNIX_EPOCH_DAY).num_days() as i32));
            }
            return Err(SerError("a date that is not YYYY-MM-DD".into()));
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &V,
    ) -> Result<Cell, SerError> {
        json_cell(value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SerError> {
        Err(SerError("nested".into()))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        Err(SerError("nested".into()))
    }
}

/// A table of facts for segments (`patron.evaluate_segments`): typed Arrow
/// columns become patron's columns directly; plain lists are read in each
/// field's kind, as the JSON form is. Errors name the column:
/// `table.orders[3]`.
pub fn segment_table(
    table: &Table,
    as_of: patron::model::Timestamp,
    name: &str,
) -> patron::Result<patron::segment::Table> {
    use patron::segment::{Column as Cells, Table as Facts};
    let mut out = Facts::new(as_of, table.len);
    for (field, column) in table.names.iter().zip(&table.columns) {
        let at = |e: patron::Error| e.within(name);
        let array = match column {
            Column::Values(values) => {
                out = out.with_json_column(field, values).map_err(at)?;
                continue;
            }
            Column::Arrow(array) => array,
        };
        let cells = match array.data_type() {
            DataType::Float64 => Cells::numbers(array.as_primitive::<Float64Type>().iter()),
            DataType::Int64 => Cells::numbers(
                array
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|n| n as f64)),
            ),
            DataType::UInt64 => Cells::numbers(
                array
                    .as_primitive::<UInt64Type>()
                    .iter()
                    .map(|v| v.map(|n| n as f64)),
            ),
            DataType::Boolean => Cells::bools(array.as_boolean().iter()),
            DataType::Utf8 => Cells::texts(array.as_string::<i32>().iter()),
            DataType::Date32 => Cells::dates(array.as_primitive::<Date32Type>().iter().map(|d| {
                d.and_then(|d| UNIX_EPOCH_DAY.checked_add_signed(chrono::Duration::days(d.into())))
            })),
            DataType::Timestamp(..) => Cells::times(
                array
                    .as_primitive::<TimestampMicrosecondType>()
                    .iter()
                    .map(|t| {
                        t.and_then(DateTime::<Utc>::from_timestamp_micros)
                            .map(patron::model::Timestamp::from)
                    }),
            ),
            // A column of nulls only: missing values of whatever kind the field has.
            _ => {
                let nulls = vec![serde_json::Value::Null; array.len()];
                out = out.with_json_column(field, &nulls).map_err(at)?;
                continue;
            }
        };
        out = out.with_column(field, cells).map_err(at)?;
    }
    Ok(out)
}

/// Each segment's membership as an Arrow table: one boolean column per
/// segment, one row per row of the facts.
pub fn evaluation_table<'py>(
    py: Python<'py>,
    all: &patron::segment::Evaluation,
) -> PyResult<Bound<'py, PyAny>> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for segment in all.segments() {
        let mut inside = vec![false; all.len()];
        for row in all
            .rows(segment)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?
        {
            inside[row] = true;
        }
        fields.push(Field::new(segment, DataType::Boolean, false));
        arrays.push(Arc::new(BooleanArray::from(inside)));
    }
    let schema = Arc::new(Schema::new(fields));
    let options = RecordBatchOptions::new().with_row_count(Some(all.len()));
    let batch = RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let table = PyTable::try_new(vec![batch], schema)?;
    Ok(table.into_pyobject(py)?.into_any())
}

/// An order-line table's columns for [`patron::recommend::baskets_from_columns`],
/// owned: ids as Arrow text or integers, times in microseconds.
pub struct BasketArrays {
    contacts: ArrayRef,
    orders: Option<ArrayRef>,
    at: Vec<i64>,
    products: ArrayRef,
    kinds: Option<Vec<BasketKind>>,
}

impl BasketArrays {
    /// The columns, borrowed.
    pub fn columns(&self) -> BasketColumns<'_> {
        BasketColumns {
            contact_ids: keys(&self.contacts),
            order_ids: self.orders.as_ref().map(keys),
            at_micros: &self.at,
            product_ids: keys(&self.products),
            kinds: self.kinds.as_deref(),
        }
    }
}

/// Reads a table of basket lines (`contact_id`, `at`, `product_id`, and
/// optionally `order_id` and `kind`); errors name the column and row:
/// `baskets[3].product_id`.
pub fn basket_columns(table: &Table, name: &str) -> patron::Result<BasketArrays> {
    const NAMES: [&str; 5] = ["contact_id", "order_id", "at", "kind", "product_id"];
    let mut found: [Option<&Column>; 5] = [None; 5];
    for (column_name, column) in table.names.iter().zip(&table.columns) {
        let Some(slot) = NAMES.iter().position(|n| n == column_name) else {
            return Err(invalid(
                format!("{name}.{column_name}"),
                format!(
                    "unknown column `{column_name}`: basket lines have `contact_id`, `order_id`, \
                     `at`, `kind` and `product_id`"
                ),
            ));
        };
        found[slot] = Some(column);
    }
    let required = |slot: usize| {
        found[slot].ok_or_else(|| {
            invalid(
                format!("{name}.{}", NAMES[slot]),
                format!("missing column `{}`", NAMES[slot]),
            )
        })
    };
    let ids = |slot: usize, column: &Column| id_array(column, name, NAMES[slot]);
    let contacts = ids(0, required(0)?)?;
    let products = ids(4, required(4)?)?;
    let orders = found[1].map(|c| ids(1, c)).transpose()?;
    // Timestamps read in place; text and other values as the row path reads them.
    let at = values_of(required(2)?, name, "at", |array, row| {
        let micros = match array.data_type() {
            DataType::Timestamp(..) => array.as_primitive::<TimestampMicrosecondType>().value(row),
            _ => return None,
        };
        DateTime::<Utc>::from_timestamp_micros(micros).map(Timestamp::from)
    })?
    .into_iter()
    .map(|t: Timestamp| t.get().timestamp_micros())
    .collect();
    let kinds = found[3]
        .map(|c| values_of(c, name, "kind", |_, _| None))
        .transpose()?;
    Ok(BasketArrays {
        contacts,
        orders,
        at,
        products,
        kinds,
    })
}

/// A column of ids as Arrow text or integers; plain values become text.
fn id_array(column: &Column, name: &str, column_name: &str) -> patron::Result<ArrayRef> {
    let missing = |row: usize| invalid(format!("{name}[{row}].{column_name}"), "missing value");
    match column {
        Column::Arrow(array) => {
            if array.null_count() > 0
                && let Some(row) = (0..array.len()).find(|&r| array.is_null(r))
            {
                return Err(missing(row));
            }
            match array.data_type() {
                DataType::Utf8 | DataType::Int64 => Ok(array.clone()),
                DataType::UInt64 => arrow_cast::cast(array, &DataType::Int64)
                    .map_err(|e| invalid(format!("{name}.{column_name}"), e.to_string())),
                other => Err(invalid(
                    format!("{name}.{column_name}"),
                    format!("expected text or integer ids, got a column of {other}"),
                )),
            }
        }
        Column::Values(values) => {
            let mut text = Vec::with_capacity(values.len());
            for (row, value) in values.iter().enumerate() {
                text.push(match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                    Value::Null => return Err(missing(row)),
                    other => {
                        return Err(invalid(
                            format!("{name}[{row}].{column_name}"),
                            format!("expected a text or integer id, got {other}"),
                        ));
                    }
                });
            }
            Ok(Arc::new(StringArray::from(text)))
        }
    }
}

/// A column's values read as `T` from their JSON form (as the row path
/// reads them), or straight from Arrow when `fast` can.
fn values_of<T: serde::de::DeserializeOwned>(
    column: &Column,
    name: &str,
    column_name: &str,
    fast: impl Fn(&ArrayRef, usize) -> Option<T>,
) -> patron::Result<Vec<T>> {
    let len = match column {
        Column::Arrow(array) => array.len(),
        Column::Values(values) => values.len(),
    };
    let mut out = Vec::with_capacity(len);
    for row in 0..len {
        let path = || format!("{name}[{row}].{column_name}");
        let value = match column {
            Column::Arrow(array) => {
                if array.is_null(row) {
                    return Err(invalid(path(), "missing value"));
                }
                if let Some(value) = fast(array, row) {
                    out.push(value);
                    continue;
                }
                cell(array, row).map_err(|m| invalid(path(), m))?
            }
            Column::Values(values) => values[row].clone(),
        };
        if value.is_null() {
            return Err(invalid(path(), "missing value"));
        }
        out.push(serde_json::from_value(value).map_err(|e| invalid(path(), e.to_string()))?);
    }
    Ok(out)
}
