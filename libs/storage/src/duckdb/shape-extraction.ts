import { JsonObject, parseJsonText } from '@app/events';
import { compileProjection } from '@app/query-engine';
import { CompiledExtraction } from './compile-query';

interface Row {
  id: string;
  ts: number;
  body: string;
}

/** The engine's extraction order: oldest first, equal timestamps by id (UTF-16 code units). */
const byTime = (a: Row, b: Row): number =>
  a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Extraction rows → the engine's answer: bodies as stored, in the engine's
 * order, the N last for `latest`, projected by the engine's own
 * compileProjection. Undefined when more events match than
 * maxExtractionEvents: the engine reports that limit.
 */
export function shapeExtraction(
  compiled: CompiledExtraction,
  rows: unknown[][],
): JsonObject[] | undefined {
  const picked: Row[] = rows.map(([id, ts, body]) => ({
    id: id as string,
    ts: ts as number,
    body: body as string,
  }));
  if (compiled.latest === undefined && picked.length > compiled.maxEvents) return undefined;
  picked.sort(byTime);
  const kept =
    compiled.latest === undefined ? picked : picked.slice(Math.max(0, picked.length - compiled.latest));
  const project = compiled.propertyNames ? compileProjection(compiled.propertyNames) : undefined;
  return kept.map((r) => {
    const body = parseJsonText(r.body, 'A stored event body') as JsonObject;
    return project ? project(body) : body;
  });
}
