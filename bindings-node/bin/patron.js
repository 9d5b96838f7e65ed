#!/usr/bin/env node
'use strict'
// The `patron` command, installed with the package: the same command as the
// Rust crate's binary (`patron ingest`, `run`, `stats`, ...).
const native = require('../native.js')

process.exitCode = native.cli(process.argv.slice(2))
