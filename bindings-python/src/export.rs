//! Export from Python: contacts' facts or a segment's members to a path or a
//! binary file object, and a static segment's ids from CSV. The output
//! helpers also serve `write_campaign`.
//!
//! The work runs without the GIL. A path is written by Rust directly (and
//! removed again if the export fails, so no half file is left); a file
//! object gets the output in 64 KiB chunks, the GIL taken back for each
//! `.write` call, so memory stays flat. An exception raised by `.write` (or
//! `.read`) reaches the caller unchanged.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use patron::profile::Facts;
use patron::segment::{Export, Format, Registry, columns_from_value, read_ids};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::args;
use crate::convert::to_value;
use crate::error::IntoPyResult;

const CHUNK: usize = 64 * 1024;

/// Where the output goes: a path (`str` or `os.PathLike`) or an object with
/// a `.write(bytes)` method.
pub(crate) enum Out {
    Path(PathBuf),
    Object(Py<PyAny>),
}

pub(crate) fn out_of(out: &Bound<'_, PyAny>) -> patron::Result<Out> {
    if out.is_instance_of::<PyString>() || out.hasattr("__fspath__").unwrap_or(false) {
        let path: PathBuf = out
            .extract()
            .map_err(|_| patron::Error::invalid("out", "expected a path"))?;
        return Ok(Out::Path(path));
    }
    if out.hasattr("write").unwrap_or(false) {
        return Ok(Out::Object(out.clone().unbind()));
    }
    Err(patron::Error::invalid(
        "out",
        "expected a path (str or os.PathLike) or a binary file object with .write",
    ))
}

/// Hands bytes to a Python file object's `.write`, a chunk at a time, taking
/// the GIL only for the call. Keeps the first Python exception to re-raise.
struct PyWriter {
    target: Py<PyAny>,
    buffer: Vec<u8>,
    raised: Option<PyErr>,
}

impl PyWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = Python::attach(|py| -> PyResult<()> {
            let target = self.target.bind(py);
            let mut rest: &[u8] = &self.buffer;
            while !rest.is_empty() {
                let written = target.call_method1("write", (PyBytes::new(py, rest),))?;
                // Raw files may write less than given; buffered ones return
                // the length or None.
                match written.extract::<usize>() {
                    Ok(n) if n > 0 && n < rest.len() => rest = &rest[n..],
                    _ => rest = &[],
                }
            }
            Ok(())
        });
        self.buffer.clear();
        result.map_err(|e| {
            let message = format!("the file object's write raised: {e}");
            self.raised.get_or_insert(e);
            io::Error::other(message)
        })
    }
}

impl Write for PyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Runs `write` without the GIL into the path or the file object.
pub(crate) fn write_out(
    py: Python<'_>,
    out: Out,
    write: impl FnOnce(&mut (dyn Write + Send)) -> patron::Result<()> + Send,
) -> PyResult<()> {
    match out {
        Out::Path(path) => py
            .detach(|| {
                let mut file = File::create(&path)
                    .map_err(|e| patron::Error::io(&format!("creating {}", path.display()), &e))?;
                let result = write(&mut file);
                if result.is_err() {
                    // No half-written file is left behind.
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                }
                result
            })
            .py_err(py),
        Out::Object(target) => {
            let mut writer = PyWriter {
                target,
                buffer: Vec::with_capacity(CHUNK),
                raised: None,
            };
            let result = py.detach(|| write(&mut writer));
            match (result, writer.raised.take()) {
                (Err(_), Some(raised)) => Err(raised),
                (result, _) => result.py_err(py),
            }
        }
    }
}

fn setup(
    columns: &Bound<'_, PyAny>,
    format: &str,
    escape_formulas: bool,
) -> patron::Result<Export> {
    let columns = to_value(columns).map_err(|e| e.into_core().within("columns"))?;
    let columns = columns_from_value(columns)?;
    let format: Format = format.parse()?;
    Ok(Export::new(&columns, format)?.escape_formulas(escape_formulas))
}

/// Writes `columns` (field paths as rules name them, plus `contact_id` and
/// `as_of`) of every contact's facts in `format` (`csv`, `json`, `ndjson`,
/// `xml` or `xlsx`) to `out`: a path (`str` or `os.PathLike`) or a binary
/// file object with `.write`. CSV text that a spreadsheet would run as a
/// formula gets a leading `'` unless `escape_formulas=False`.
#[pyfunction]
#[pyo3(signature = (facts, columns, format, out, *, escape_formulas=true))]
pub fn export_facts(
    py: Python<'_>,
    facts: &Bound<'_, PyAny>,
    columns: &Bound<'_, PyAny>,
    format: &str,
    out: &Bound<'_, PyAny>,
    escape_formulas: bool,
) -> PyResult<()> {
    let export = setup(columns, format, escape_formulas).py_err(py)?;
    let out = out_of(out).py_err(py)?;
    let (facts, _): (Vec<Facts>, _) = args::bulk(py, facts, "facts").py_err(py)?;
    write_out(py, out, move |w| export.write(&facts, w).map(drop))
}

/// As `export_facts`, for the members of segment `name` of `segments` only.
#[pyfunction]
#[pyo3(signature = (segments, name, facts, columns, format, out, *, escape_formulas=true))]
#[allow(clippy::too_many_arguments)]
pub fn export_segment(
    py: Python<'_>,
    segments: &Bound<'_, PyAny>,
    name: &str,
    facts: &Bound<'_, PyAny>,
    columns: &Bound<'_, PyAny>,
    format: &str,
    out: &Bound<'_, PyAny>,
    escape_formulas: bool,
) -> PyResult<()> {
    let export = setup(columns, format, escape_formulas).py_err(py)?;
    let out = out_of(out).py_err(py)?;
    let registry: Registry = crate::segment::registry(segments).py_err(py)?;
    let (facts, _): (Vec<Facts>, _) = args::bulk(py, facts, "facts").py_err(py)?;
    let name = name.to_owned();
    write_out(py, out, move |w| {
        export.write_segment(&registry, &name, &facts, w).map(drop)
    })
}

/// The ids in column `column` of a CSV with a header row (RFC 4180; a BOM,
/// CRLF and quoted fields are fine). `source` is a path (`str` or
/// `os.PathLike`), the CSV as `bytes`, or a binary file object with `.read`.
/// Errors give the line and column.
#[pyfunction]
pub fn read_segment_ids(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    column: &str,
) -> PyResult<Vec<String>> {
    let bytes: Vec<u8> = if let Ok(b) = source.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(b) = source.cast::<PyByteArray>() {
        b.to_vec()
    } else if source.is_instance_of::<PyString>() || source.hasattr("__fspath__")? {
        let path: PathBuf = source.extract()?;
        return py
            .detach(|| {
                let file = File::open(&path)
                    .map_err(|e| patron::Error::io(&format!("opening {}", path.display()), &e))?;
                read_ids(file, column)
            })
            .py_err(py);
    } else if source.hasattr("read")? {
        let data = source.call_method0("read")?;
        match data.cast::<PyBytes>() {
            Ok(b) => b.as_bytes().to_vec(),
            Err(_) => {
                return Err(patron::Error::invalid(
                    "source",
                    "expected a binary file object (its .read() gave no bytes)",
                ))
                .py_err(py);
            }
        }
    } else {
        return Err(patron::Error::invalid(
            "source",
            "expected a path (str or os.PathLike), bytes, or a binary file object with .read",
        ))
        .py_err(py);
    };
    py.detach(|| read_ids(bytes.as_slice(), column)).py_err(py)
}
