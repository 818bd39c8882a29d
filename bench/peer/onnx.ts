/**
 * A minimal ONNX model writer: just the protobuf messages a one-node (or few-node) float graph
 * needs, so that the peer benchmark builds its ORT models in code without a protobuf library.
 *
 * Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

export type ElemType = 'float32' | 'int32' | 'int64';

/** TensorProto.DataType codes. */
const ELEM_CODE: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7 };

/** A graph input or output: a name, an element type and a fixed shape. */
export interface ValueInfo {
  readonly name: string;
  readonly type: ElemType;
  readonly shape: readonly number[];
}

/** A constant baked into the model (uploaded once, when the session is created). */
export interface Initializer {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

export type AttributeValue = number | { readonly float: number } | readonly number[];

export interface Node {
  readonly op: string;
  readonly domain?: string;
  /** An empty string skips an optional input (ONNX's convention). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** A plain number is an INT attribute; `{ float }` a FLOAT; an array INTS. */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface Graph {
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers?: readonly Initializer[];
  /** Opset versions by domain ('' is the standard ai.onnx domain). */
  readonly opsets: Readonly<Record<string, number>>;
}

// ── Protobuf wire format ─────────────────────────────────────────────────────────────────

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a growing list of chunks; `bytes()` joins them. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private varint(value: number | bigint): void {
    // Negative int64s are ten bytes of two's complement, as protobuf encodes them.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v ? byte | 0x80 : byte);
    } while (v);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

// ── ONNX messages ────────────────────────────────────────────────────────────────────────

/** AttributeProto.AttributeType codes. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function attribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') w.int(3, value).int(20, ATTR_INT);
  else if ('float' in value) w.float(2, value.float).int(20, ATTR_FLOAT);
  else {
    for (const v of value) w.int(8, v);
    w.int(20, ATTR_INTS);
  }
}

function node(w: Writer, n: Node, index: number): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {}))
    w.message(5, (a) => attribute(a, name, value));
  if (n.domain) w.string(7, n.domain);
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_CODE[v.type]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => dim.int(1, d));
      });
    }),
  );
}

function initializer(w: Writer, t: Initializer): void {
  for (const d of t.shape) w.int(1, d);
  w.int(2, ELEM_CODE[t.data instanceof Float32Array ? 'float32' : 'int32']);
  w.string(8, t.name);
  // raw_data is little-endian, which every platform Node runs on is.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** Serialises `graph` as an ONNX ModelProto (IR version 10). */
export function encodeModel(graph: Graph): Uint8Array {
  const w = new Writer();
  w.int(1, 10);
  w.string(2, 'attn-bench');
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) => g.message(1, (nw) => node(nw, n, i)));
    g.string(2, 'peer');
    for (const t of graph.initializers ?? []) g.message(5, (iw) => initializer(iw, t));
    for (const v of graph.inputs) g.message(11, (vw) => valueInfo(vw, v));
    for (const v of graph.outputs) g.message(12, (vw) => valueInfo(vw, v));
  });
  for (const [domain, version] of Object.entries(graph.opsets))
    w.message(8, (o) => {
      if (domain) o.string(1, domain);
      o.int(2, version);
    });
  return w.finish();
}
