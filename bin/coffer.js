#!/usr/bin/env node
// The program as scripts/bundle.mjs links it (npm run build).
import { main } from '../dist/bundle/app/main.js';

await main(process.argv);
