import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TallyError } from '@app/events';

interface RawReply {
  status(code: number): RawReply;
  header(name: string, value: string): RawReply;
  send(body?: unknown): void;
}

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The page's own files sit beside this module (`assets/`; `npm run build` copies
 * them next to the compiled module in dist/). Chart.js comes from node_modules,
 * a production dependency, so the runtime image has it after `npm prune --omit=dev`.
 */
export const EXPLORER_ASSETS_DIR = path.join(__dirname, 'assets');

/** chart.js exports no subpath for its browser bundle: it sits beside the CommonJS entry. */
export function chartJsBundlePath(): string {
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

function loadAssets(): { index: Asset; files: Map<string, Asset> } {
  const own = (name: string, type: string): Asset => ({
    type,
    body: readFileSync(path.join(EXPLORER_ASSETS_DIR, name)),
  });
  return {
    index: own('index.html', 'text/html; charset=utf-8'),
    files: new Map([
      ['explorer.js', own('explorer.js', 'text/javascript; charset=utf-8')],
      ['explorer.css', own('explorer.css', 'text/css; charset=utf-8')],
      [
        'chart.umd.min.js',
        { type: 'text/javascript; charset=utf-8', body: readFileSync(chartJsBundlePath()) },
      ],
    ]),
  };
}

/**
 * The data explorer: one static page at `/` and its scripts under `/explorer/`.
 * It reads nothing but its own files; everything it shows comes from the public
 * Keen API, called by the browser with the key the user typed. A fixed list of
 * files (no directory serving); read once, at start.
 */
@ApiExcludeController()
@Controller()
export class ExplorerController {
  private readonly assets = loadAssets();

  @Get()
  index(@Res() reply: RawReply): void {
    this.send(reply, this.assets.index);
  }

  @Get('explorer/:file')
  file(@Param('file') file: string, @Res() reply: RawReply): void {
    const asset = this.assets.files.get(file);
    if (!asset) throw new TallyError('not_found', 'ResourceNotFoundError', 'Resource not found.');
    this.send(reply, asset);
  }

  private send(reply: RawReply, asset: Asset): void {
    reply
      .status(200)
      .header('content-type', asset.type)
      .header('cache-control', 'no-cache')
      .send(asset.body);
  }
}
