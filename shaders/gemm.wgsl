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
// gemm_f32: each invocation computes an 8 × 4 block of C: per step of k,
//   two vec4s of A (8 rows) and one vec4 of B (4 columns) feed 32 FMAs held
//   in eight vec4 accumulators. A workgroup covers BM × BN = 8·WG × 4·WG
//   (128 × 64). K is walked WG at a time through workgroup tiles stored as
//   vec4s, a_tile[k][row / 4] and b_tile[k][col / 4]:
//   (WG · 2·WG + WG · WG) · 16 bytes = 12 KiB at WG = 16, under WebGPU's 16 KiB.
//   Dispatch: (ceil(n / BN), ceil(m / BM), 1).
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

var<workgroup> a_tile: array<vec4<f32>, 2u * WG * WG>;
var<workgroup> b_tile: array<vec4<f32>, WG * WG>;

@compute @workgroup_size(WG, WG, 1)
fn gemm_f32(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let bm = 8u * WG;
    let bn = 4u * WG;
    let row0 = wid.y * bm;
    let col0 = wid.x * bn;
    let tid = lid.y * WG + lid.x;
    var acc = array<vec4<f32>, 8>();
    let tiles = (p.k + WG - 1u) / WG;
    for (var t = 0u; t < tiles; t++) {
        let k0 = t * WG;
        // A: BM × WG values, 8 per invocation; B: WG × BN, 4 per invocation.
        // Consecutive invocations read consecutive addresses of A's and B's rows.
        for (var i = 0u; i < 8u; i++) {
            let e = tid + i * WG * WG;
            let a_row = e / WG;
            let a_k = e % WG;
            var av = 0.0;
            if (row0 + a_row < p.m && k0 + a_k < p.k) {
                av = a[(row0 + a_row) * p.k + k0 + a_k];
            }
            a_tile[a_k * 2u * WG + a_row / 4u][a_row % 4u] = av;
        }
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * WG * WG;
            let b_k = e / bn;
            let b_col = e % bn;
            var bv = 0.0;
            if (k0 + b_k < p.k && col0 + b_col < p.n) {
                bv = b[(k0 + b_k) * p.n + col0 + b_col];
            }
            b_tile[b_k * WG + b_col / 4u][b_col % 4u] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < WG; kk++) {
            let a_lo = a_tile[kk * 2u * WG + 2u * lid.y];
            let a_hi = a_tile[kk * 2u * WG + 2u * lid.y + 1u];
            let bv = b_tile[kk * WG + lid.x];
            acc[0] += a_lo.x * bv;
            acc[1] += a_lo.y * bv;
            acc[2] += a_lo.z * bv;
            acc[3] += a_lo.w * bv;
            acc[4] += a_hi.x * bv;
            acc[5] += a_hi.y * bv;
            acc[6] += a_hi.z * bv;
            acc[7] += a_hi.w * bv;
        }
        workgroupBarrier();
    }
    let tr = lid.y * 8u;
    let tc = lid.x * 4u;
    for (var i = 0u; i < 8u; i++) {
        let r = row0 + tr + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tc + j;
            if (r < p.m && col < p.n) {
                c[r * p.n + col] = acc[i][j];
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
