// gemm: C = A · B in f32.
//
// Bindings (group 0):
//   0  params  : uniform     (m, k, n)
//   1  a       : array<f32>  read   [m, k] row-major
//   2  b       : array<f32>  read   [k, n] row-major
//   3  c       : array<f32>  write  [m, n] row-major
//
// WG is an override from compute/src/kernels/gemm.rs (16): workgroups are
// WG × WG invocations.
//
// gemm_f32: each invocation computes a 4 × 4 block of C in four vec4
//   accumulators, so a workgroup covers BM × BM with BM = 4·WG (64). K is
//   walked WG at a time through workgroup tiles A[BM][WG] and B[WG][BM]:
//   2 · 4·WG² · 4 bytes = 8 KiB at WG = 16, under WebGPU's 16 KiB.
//   Dispatch: (ceil(n / BM), ceil(m / BM), 1).
// gemm_f32_naive: one invocation per element of C, straight from global
//   memory; the baseline the benchmark compares against.
//   Dispatch: (ceil(n / WG), ceil(m / WG), 1).
//
// Shapes need not be multiples of anything: out-of-range loads give 0 and
// out-of-range outputs are not written, while every invocation still reaches
// each barrier (barriers need uniform control flow).

override WG: u32;

struct Params {
    m: u32,
    k: u32,
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> a_tile: array<f32, 4u * WG * WG>;
var<workgroup> b_tile: array<f32, 4u * WG * WG>;

@compute @workgroup_size(WG, WG, 1)
fn gemm_f32(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let bm = 4u * WG;
    let row0 = wid.y * bm;
    let col0 = wid.x * bm;
    let tr = lid.y * 4u;
    let tc = lid.x * 4u;
    let tid = lid.y * WG + lid.x;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    let tiles = (p.k + WG - 1u) / WG;
    for (var t = 0u; t < tiles; t++) {
        let k0 = t * WG;
        for (var i = 0u; i < 4u; i++) {
            let idx = tid + i * WG * WG;
            let ar = row0 + idx / WG;
            let ac = k0 + idx % WG;
            var av = 0.0;
            if (ar < p.m && ac < p.k) {
                av = a[ar * p.k + ac];
            }
            a_tile[idx] = av;
            let br = k0 + idx / bm;
            let bc = col0 + idx % bm;
            var bv = 0.0;
            if (br < p.k && bc < p.n) {
                bv = b[br * p.n + bc];
            }
            b_tile[idx] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < WG; kk++) {
            let bo = kk * bm + tc;
            let bv = vec4<f32>(b_tile[bo], b_tile[bo + 1u], b_tile[bo + 2u], b_tile[bo + 3u]);
            acc0 += a_tile[tr * WG + kk] * bv;
            acc1 += a_tile[(tr + 1u) * WG + kk] * bv;
            acc2 += a_tile[(tr + 2u) * WG + kk] * bv;
            acc3 += a_tile[(tr + 3u) * WG + kk] * bv;
        }
        workgroupBarrier();
    }
    let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + tr + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tc + j;
            if (r < p.m && col < p.n) {
                c[r * p.n + col] = rows[i][j];
            }
        }
    }
}

@compute @workgroup_size(WG, WG, 1)
fn gemm_f32_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.y;
    let col = gid.x;
    if (r >= p.m || col >= p.n) {
        return;
    }
    var acc = 0.0;
    for (var i = 0u; i < p.k; i++) {
        acc += a[r * p.k + i] * b[i * p.n + col];
    }
    c[r * p.n + col] = acc;
}
