// msgpackr requires this inside try/catch and uses its JS decoder when it throws.
throw new Error('msgpackr-extract is replaced by a stub in this install (see package.json)');
