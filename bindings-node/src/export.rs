//! Export (JSON text in, bytes out): contacts' facts or a segment's members
//! to a file or a Buffer, and a static segment's ids from CSV. Each call runs
//! off the JavaScript thread and returns a Promise.

use std::fs::File;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;
use patron::parse;
use patron::profile::Facts;
use patron::segment::{Export, Format, Registry, columns_from_value, read_ids};

use crate::args;
use crate::error::IntoJsResult;
use crate::task::{self, BytesTask, JsonTask};

fn setup(columns: &str, format: &str, escape_formulas: bool) -> patron::Result<Export> {
    let columns = columns_from_value(args::value(columns, "columns")?)?;
    let format: Format = format.parse()?;
    Ok(Export::new(&columns, format)?.escape_formulas(escape_formulas))
}

/// Writes to the file at `path` (and gives no bytes; a failed export removes
/// the file), or into the bytes given back. `write_campaign` writes with it too.
pub(crate) fn write_out(
    path: Option<String>,
    write: impl FnOnce(&mut (dyn std::io::Write + Send)) -> patron::Result<()>,
) -> patron::Result<Vec<u8>> {
    match path {
        Some(path) => {
            let mut file = File::create(&path)
                .map_err(|e| patron::Error::io(&format!("creating {path}"), &e))?;
            if let Err(e) = write(&mut file) {
                // No half-written file is left behind.
                drop(file);
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
            Ok(Vec::new())
        }
        None => {
            let mut out = Vec::new();
            write(&mut out)?;
            Ok(out)
        }
    }
}

/// Runs off the JavaScript thread: `columns` of every contact's facts in
/// `format`, to the file at `path`, or as bytes when `path` is null.
#[napi]
pub fn export_facts_json(
    facts: String,
    columns: String,
    format: String,
    path: Option<String>,
    escape_formulas: bool,
) -> AsyncTask<BytesTask> {
    task::spawn_bytes(move || {
        let export = setup(&columns, &format, escape_formulas).js_err()?;
        let facts: Vec<Facts> = args::list(&facts, "facts").js_err()?;
        write_out(path, |w| export.write(&facts, w).map(drop)).js_err()
    })
}

/// As `export_facts_json`, for the members of segment `name` only.
#[napi]
pub fn export_segment_json(
    segments: String,
    name: String,
    facts: String,
    columns: String,
    format: String,
    path: Option<String>,
    escape_formulas: bool,
) -> AsyncTask<BytesTask> {
    task::spawn_bytes(move || {
        let export = setup(&columns, &format, escape_formulas).js_err()?;
        let registry = Registry::from_json(&segments)
            .map_err(|e| e.within("segments"))
            .js_err()?;
        let facts: Vec<Facts> = args::list(&facts, "facts").js_err()?;
        write_out(path, |w| {
            export.write_segment(&registry, &name, &facts, w).map(drop)
        })
        .js_err()
    })
}

/// Runs off the JavaScript thread: the ids in column `column` of a CSV with
/// a header, read from the file at `path` or from `data`.
#[napi]
pub fn read_segment_ids_json(
    path: Option<String>,
    data: Option<Buffer>,
    column: String,
) -> AsyncTask<JsonTask> {
    let data: Option<Vec<u8>> = data.map(|b| b.to_vec());
    task::spawn(move || {
        let ids = match (path, data) {
            (Some(path), _) => {
                let file = File::open(&path)
                    .map_err(|e| patron::Error::io(&format!("opening {path}"), &e))
                    .js_err()?;
                read_ids(file, &column)
            }
            (None, data) => read_ids(data.unwrap_or_default().as_slice(), &column),
        }
        .js_err()?;
        Ok(parse::to_json(&ids))
    })
}
