'use strict'
// Loads the native addon that `make node` (scripts/build-node) builds.
const path = require('node:path')

module.exports = require(path.join(__dirname, 'patron.node'))
