// gemm: C = A · B in f32, tiled through workgroup memory.
//
// Bindings (group 0):
//   0  a     : array<f32>  read   [m, k] row-major
//   1  b     : array<f32>  read   [k, n] row-major
//   2  c     : array<f32>  write  [m, n] row-major
//   3  dims  : uniform     (m, k, n, unused)
//
// Workgroup: TILE × TILE invocations; each computes one element of C.
// TILE is an override set by the Rust wrapper (compute/src/kernels/gemm.rs),
// which also derives the dispatch count from it: one owner for the size.
// Workgroup memory: 2 · TILE² · 4 bytes (2 KiB at TILE = 16), well under
// WebGPU's 16 KiB minimum limit.
//
// Shapes need not be multiples of TILE: out-of-range loads read 0 and
// out-of-range invocations write nothing, but every invocation still
// reaches both barriers (workgroupBarrier must be in uniform control flow).

override TILE: u32;

struct Dims {
    m: u32,
    k: u32,
    n: u32,
    _unused: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

var<workgroup> tile_a: array<f32, TILE * TILE>;
var<workgroup> tile_b: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE, 1)
fn gemm_f32(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row = gid.y;
    let col = gid.x;
    var acc = 0.0;
    let tiles = (dims.k + TILE - 1u) / TILE;
    for (var t = 0u; t < tiles; t++) {
        let a_col = t * TILE + lid.x;
        let b_row = t * TILE + lid.y;
        var a_val = 0.0;
        if (row < dims.m && a_col < dims.k) {
            a_val = a[row * dims.k + a_col];
        }
        var b_val = 0.0;
        if (b_row < dims.k && col < dims.n) {
            b_val = b[b_row * dims.n + col];
        }
        tile_a[lid.y * TILE + lid.x] = a_val;
        tile_b[lid.y * TILE + lid.x] = b_val;
        workgroupBarrier();
        for (var i = 0u; i < TILE; i++) {
            acc += tile_a[lid.y * TILE + i] * tile_b[i * TILE + lid.x];
        }
        workgroupBarrier();
    }
    if (row < dims.m && col < dims.n) {
        c[row * dims.n + col] = acc;
    }
}
