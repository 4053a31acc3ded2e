import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Reads prisma/schema.prisma with Prisma's own schema parser, offline.
 *
 * Why this source and not another (the drift check must see exactly what Prisma sees):
 * - The generated client's `runtimeDataModel` (internal/class.ts) is stripped down: it
 *   has field names and kinds only, with no nullability, no list flag, no native types
 *   (@db.Uuid, @db.Timestamptz(3)), no indexes and no enum values. It is also a build
 *   artefact (gitignored) that can be stale relative to schema.prisma.
 * - `@prisma/internals`' getDMMF is not installed (and adding a dependency is not ours
 *   to do); it is a thin wrapper over the same WebAssembly module used here.
 * - A hand-written parser would be a second, unvalidated interpretation of the grammar
 *   (@map/@@map, attribute arguments, defaults for native types, implicit relations).
 * - The `prisma` CLI package (a devDependency, pinned to 7.10) ships Prisma's schema
 *   parser as `build/prisma_schema_build_bg.wasm` (prisma-engines' prisma-schema-wasm;
 *   the CLI's getDMMF runs it). Its `get_datamodel` export returns the DMMF datamodel:
 *   models with dbName, fields with isRequired/isList/nativeType/dbName, relations with
 *   their foreign-key fields and onDelete, enums with values, and every @id/@unique/
 *   @@unique/@@index with its fields. It needs no native engine and no network, and it
 *   rejects an invalid schema with Prisma's own validation message.
 *
 * The module is instantiated with a minimal wasm-bindgen shim (the four imports it
 * declares). The shim checks the module's imports and exports first, so a Prisma
 * upgrade that changes the ABI fails loudly here rather than misreading the schema.
 */

export interface DmmfField {
  name: string;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  isId?: boolean;
  isUnique?: boolean;
  type: string;
  dbName?: string | null;
  /** e.g. ['Timestamptz', ['3']], ['Decimal', ['14', '6']], ['Uuid', []]. */
  nativeType?: [string, string[]] | null;
  relationName?: string;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  schema?: string | null;
  fields: DmmfField[];
}

export interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}

export interface DmmfIndex {
  model: string;
  type: 'id' | 'normal' | 'unique' | 'fulltext';
  isDefinedOnField: boolean;
  name?: string;
  dbName?: string;
  fields: { name: string; sortOrder?: string }[];
}

export interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}

/** prisma/schema.prisma, found from the sources, the compiled dist/ tree or the cwd. */
export function defaultSchemaPath(): string {
  for (const up of ['../../../..', '../../../../..']) {
    const file = join(__dirname, up, 'prisma', 'schema.prisma');
    if (existsSync(file)) return file;
  }
  return join(process.cwd(), 'prisma', 'schema.prisma');
}

export function readDatamodel(schemaPath: string = defaultSchemaPath()): Datamodel {
  return parseDatamodel(readFileSync(schemaPath, 'utf8'));
}

/** Parses and validates schema text; throws Prisma's validation error when invalid. */
export function parseDatamodel(schemaText: string): Datamodel {
  const wasm = schemaWasm();
  const out = wasm.call(
    'get_datamodel',
    JSON.stringify({ prismaSchema: schemaText, noColor: true }),
  );
  const parsed = JSON.parse(out) as Partial<Datamodel>;
  if (
    !Array.isArray(parsed.models) ||
    !Array.isArray(parsed.enums) ||
    !Array.isArray(parsed.indexes)
  ) {
    throw new Error(
      `Prisma's get_datamodel returned an unexpected shape (keys: ${Object.keys(parsed).join(', ')})`,
    );
  }
  return parsed as Datamodel;
}

interface SchemaWasm {
  call(fn: string, arg: string): string;
}

// The WebAssembly global, typed locally: tsconfig's lib is ES2023 without DOM, and
// @types/node does not declare it.
interface WasmTable {
  get(index: number): unknown;
  set(index: number, value: unknown): void;
  grow(delta: number): number;
}
interface WasmModuleDescriptor {
  module: string;
  name: string;
}
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(m: object): WasmModuleDescriptor[];
    exports(m: object): { name: string }[];
  };
  Instance: new (m: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface WasmExports {
  memory: { buffer: ArrayBuffer };
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __wbindgen_externrefs: WasmTable;
  __externref_table_dealloc(idx: number): void;
  __wbindgen_start(): void;
  [fn: string]: unknown;
}

let instance: SchemaWasm | undefined;

function schemaWasm(): SchemaWasm {
  instance ??= loadSchemaWasm();
  return instance;
}

function prismaPackageDir(): string {
  return dirname(require.resolve('prisma/package.json'));
}

function loadSchemaWasm(): SchemaWasm {
  const pkgDir = prismaPackageDir();
  const wasmPath = join(pkgDir, 'build', 'prisma_schema_build_bg.wasm');
  const version = (
    JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }
  ).version;
  const abiError = (what: string) =>
    new Error(
      `Cannot use Prisma's schema parser from prisma ${version} (${wasmPath}): ${what}. ` +
        'The wasm-bindgen ABI changed; update libs/ledger/src/migrations/prisma-datamodel.ts.',
    );
  if (!existsSync(wasmPath)) throw abiError('file not found');
  const module = new wasmApi.Module(readFileSync(wasmPath));

  // Filled once instantiated; the imports below close over it.
  const state: { exports?: WasmExports; panic?: string } = {};
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const readString = (ptr: number, len: number) => {
    if (!state.exports) throw new Error('wasm not initialised');
    return decoder.decode(new Uint8Array(state.exports.memory.buffer, ptr >>> 0, len >>> 0));
  };

  const imports = bindgenImports(module, state, readString, abiError);
  const exported = new Set(wasmApi.Module.exports(module).map((e) => e.name));
  for (const name of [
    'memory',
    'get_datamodel',
    '__wbindgen_malloc',
    '__wbindgen_free',
    '__wbindgen_externrefs',
    '__externref_table_dealloc',
    '__wbindgen_start',
  ]) {
    if (!exported.has(name)) throw abiError(`export ${name} is missing`);
  }
  const ex = new wasmApi.Instance(module, imports).exports as WasmExports;
  state.exports = ex;
  ex.__wbindgen_start();

  return {
    // wasm-bindgen's calling convention for `fn(String) -> Result<String, JsError>`:
    // the argument is copied into wasm memory (malloc), the result is a multi-value
    // [ptr, len, errorRef, isError]; the string is freed by the caller.
    call(fnName, arg) {
      const fn = ex[fnName];
      if (typeof fn !== 'function') throw abiError(`export ${fnName} is missing`);
      const bytes = new TextEncoder().encode(arg);
      const ptr = ex.__wbindgen_malloc(bytes.length, 1) >>> 0;
      new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
      state.panic = undefined;
      let result: unknown;
      try {
        result = (fn as (p: number, l: number) => unknown)(ptr, bytes.length);
      } catch (err) {
        const panicked = (state as { panic?: string }).panic; // set by the panic hook during the call
        throw new Error(
          `Prisma's schema parser crashed${panicked ? `: ${panicked}` : ''} (${(err as Error).message})`,
        );
      }
      if (!Array.isArray(result) || result.length !== 4)
        throw abiError(`${fnName} returned ${typeof result}`);
      const [outPtr, outLen, errRef, isErr] = result as [number, number, number, number];
      if (isErr) {
        const err: unknown = ex.__wbindgen_externrefs.get(errRef);
        ex.__externref_table_dealloc(errRef);
        throw schemaError(err);
      }
      try {
        return readString(outPtr, outLen);
      } finally {
        ex.__wbindgen_free(outPtr, outLen, 1);
      }
    },
  };
}

/** The imports wasm-bindgen generated for this module; names carry a build hash suffix. */
function bindgenImports(
  module: object,
  state: { exports?: WasmExports; panic?: string },
  readString: (ptr: number, len: number) => string,
  abiError: (what: string) => Error,
): Record<string, Record<string, (...args: number[]) => unknown>> {
  const imports: Record<string, Record<string, (...args: number[]) => unknown>> = {};
  for (const imp of wasmApi.Module.imports(module)) {
    let fn: (...args: number[]) => unknown;
    if (imp.name.startsWith('__wbg_Error_')) fn = (ptr, len) => new Error(readString(ptr, len));
    else if (imp.name.startsWith('__wbg___wbindgen_throw_')) {
      fn = (ptr, len) => {
        throw new Error(readString(ptr, len));
      };
    } else if (imp.name.startsWith('__wbg_set_message_')) {
      fn = (ptr, len) => {
        state.panic = readString(ptr, len);
      };
    } else if (imp.name === '__wbindgen_init_externref_table') {
      fn = () => {
        const table = state.exports!.__wbindgen_externrefs;
        const offset = table.grow(4);
        table.set(0, undefined);
        table.set(offset + 0, undefined);
        table.set(offset + 1, null);
        table.set(offset + 2, true);
        table.set(offset + 3, false);
      };
    } else {
      throw abiError(`unknown import ${imp.module}.${imp.name}`);
    }
    (imports[imp.module] ??= {})[imp.name] = fn;
  }
  return imports;
}

/** Prisma reports validation errors as JSON `{ error_code, message }` inside an Error. */
function schemaError(err: unknown): Error {
  const raw = err instanceof Error ? err.message : String(err);
  try {
    const parsed = JSON.parse(raw) as { error_code?: string; message?: string };
    if (parsed.message)
      return new Error(
        `schema.prisma is invalid (${parsed.error_code ?? 'error'}):\n${parsed.message}`,
      );
  } catch {
    // not JSON: fall through
  }
  return new Error(`schema.prisma could not be read: ${raw}`);
}
