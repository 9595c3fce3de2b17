// lora: C = α·op(A)·op(B) (+ C), f32, every operand a strided view at an
// offset, so one kernel serves each product of a LoRA branch, forward and
// backward, reading A and B straight out of the adapter's flat buffer and
// writing gradients straight into the flat gradient buffer:
//   forward   u = x·Aᵀ,  y += s·u·Bᵀ
//   backward  dB = s·dyᵀ·u,  du = s·dy·B,  dA = duᵀ·x,  dx += du·A
//
//   C[c0 + i·ci + j·cj] = α · Σ_k A[a0 + i·ai + k·ak] · B[b0 + k·bk + j·bj]
//                         (+ C[…] when accumulate is 1)
//
// Bindings (group 0):
//   0  params : uniform     (m, n, k, a0, ai, ak, b0, bk, bj, c0, ci, cj, α, accumulate)
//   1  a      : array<f32>  read
//   2  b      : array<f32>  read
//   3  c      : array<f32>  read_write
//
// One invocation per output, WG × WG per workgroup (WG an override from
// compute/src/kernels/lora.rs, 8): the products have a rank r ≤ 64 on one
// side, so each output sums at most a few thousand terms and tiling would
// buy little. Dispatch: (ceil(n / WG), ceil(m / WG), 1).

override WG: u32;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a0: u32,
    ai: u32,
    ak: u32,
    b0: u32,
    bk: u32,
    bj: u32,
    c0: u32,
    ci: u32,
    cj: u32,
    alpha: f32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(WG, WG)
fn matmul_strided(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    if (i >= p.m || j >= p.n) {
        return;
    }
    var s = 0.0;
    for (var t = 0u; t < p.k; t++) {
        s += a[p.a0 + i * p.ai + t * p.ak] * b[p.b0 + t * p.bk + j * p.bj];
    }
    let at = p.c0 + i * p.ci + j * p.cj;
    var prior = 0.0;
    if (p.accumulate == 1u) {
        prior = c[at];
    }
    c[at] = prior + p.alpha * s;
}
