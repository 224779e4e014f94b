#!/usr/bin/env node
// Launcher for the compiled CLI; `npm install` builds dist/ through the prepare script.
import '../dist/cli/entry.js';
