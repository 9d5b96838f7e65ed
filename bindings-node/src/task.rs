//! Bulk work runs off the JavaScript thread: these calls return Promises, so
//! a server's event loop keeps serving requests while a base is scored.

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};

/// One piece of core work that yields JSON text.
pub struct JsonTask(Option<Box<dyn FnOnce() -> napi::Result<String> + Send>>);

impl Task for JsonTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        match self.0.take() {
            Some(work) => work(),
            None => Err(napi::Error::from_reason("a task ran twice")),
        }
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Runs `work` on the libuv thread pool; the JavaScript side gets a Promise.
pub fn spawn(work: impl FnOnce() -> napi::Result<String> + Send + 'static) -> AsyncTask<JsonTask> {
    AsyncTask::new(JsonTask(Some(Box::new(work))))
}

/// One piece of core work that yields bytes (an export), given to
/// JavaScript as a Buffer without a copy.
pub struct BytesTask(Option<Box<dyn FnOnce() -> napi::Result<Vec<u8>> + Send>>);

impl Task for BytesTask {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> napi::Result<Vec<u8>> {
        match self.0.take() {
            Some(work) => work(),
            None => Err(napi::Error::from_reason("a task ran twice")),
        }
    }

    fn resolve(&mut self, _env: Env, output: Vec<u8>) -> napi::Result<Buffer> {
        Ok(output.into())
    }
}

/// Runs `work` on the libuv thread pool; the JavaScript side gets a Promise of a Buffer.
pub fn spawn_bytes(
    work: impl FnOnce() -> napi::Result<Vec<u8>> + Send + 'static,
) -> AsyncTask<BytesTask> {
    AsyncTask::new(BytesTask(Some(Box::new(work))))
}
