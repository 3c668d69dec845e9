// Reads {"name": "cypher", ...} as JSON on stdin; prints {"name": [errors]} as JSON.
// Uses Neo4j's own Cypher parser and semantic analysis (Cypher 5, as Neo4j 5 runs it),
// with Neo4j's registry of built-in functions and procedures, so a FalkorDB-only
// function in a Neo4j-bound query is an error too. Undeclared $parameters are expected.
import { lintCypherQuery, testData } from '@neo4j-cypher/language-support';

const schema = {
  functions: testData.mockSchema.functions,
  procedures: testData.mockSchema.procedures,
};
let input = '';
for await (const chunk of process.stdin) input += chunk;
const queries = JSON.parse(input);
const out = {};
for (const [name, query] of Object.entries(queries)) {
  const result = lintCypherQuery(`CYPHER 5 ${query}`, schema);
  const diagnostics = result.diagnostics ?? result;
  out[name] = diagnostics
    .filter((d) => d.severity === 1 && !/^Parameter \$\w+ is not defined/.test(d.message))
    .map((d) => d.message);
}
process.stdout.write(JSON.stringify(out));
