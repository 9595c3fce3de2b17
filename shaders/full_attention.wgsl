// full_attention: multi-head attention without a mask or a cache, for a
// whole sequence at once: DETR's encoder self-attention (144 cells), and its
// decoder's self- and cross-attention (N queries over N queries / 144 cells).
//
// For query i and head h, over keys t < tk:
//   probs[h, i, t] = softmax_t(q[i, h] · k[t, h] · scale)
//   out[i, h]      = Σ_t probs[h, i, t] · v[t, h]
// where x[i, h] is the head_dim slice of row i at h · head_dim.
//
// Bindings (group 0):
//   0  params : uniform    (heads, head_dim, tq, tk, scale as f32 bits)
//   1  q      : array<f32> read   [tq, heads · head_dim]
//   2  k      : array<f32> read   [tk, heads · head_dim]
//   3  v      : array<f32> read   [tk, heads · head_dim]
//   4  out    : array<f32> write  [tq, heads · head_dim]
//   5  probs  : array<f32> write  [heads, tq, tk]   kept for the page's maps
//
// attend: one workgroup of WG invocations per (query, head), dispatched as
//   (tq, heads); scores in workgroup memory sized by the override CTX ≥ tk.

override WG: u32;
override CTX: u32;

struct Params {
    heads: u32,
    head_dim: u32,
    tq: u32,
    tk: u32,
    scale_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

var<workgroup> scores: array<f32, CTX>;
var<workgroup> scratch: array<f32, WG>;

fn reduce(lid: u32, v: f32, take_max: bool) -> f32 {
    scratch[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            if (take_max) {
                scratch[lid] = max(scratch[lid], scratch[lid + s]);
            } else {
                scratch[lid] += scratch[lid + s];
            }
        }
        workgroupBarrier();
    }
    let r = scratch[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(WG)
fn attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let i = wid.x;
    let h = wid.y;
    let lid = lid3.x;
    let width = p.heads * p.head_dim;
    let qo = i * width + h * p.head_dim;
    let scale = bitcast<f32>(p.scale_bits);
    var m = -3.4e38;
    for (var t = lid; t < p.tk; t += WG) {
        var s = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            s += q[qo + d] * k[t * width + h * p.head_dim + d];
        }
        s *= scale;
        scores[t] = s;
        m = max(m, s);
    }
    m = reduce(lid, m, true);
    var total = 0.0;
    for (var t = lid; t < p.tk; t += WG) {
        let e = exp(scores[t] - m);
        scores[t] = e;
        total += e;
    }
    total = reduce(lid, total, false);
    for (var t = lid; t < p.tk; t += WG) {
        probs[(h * p.tq + i) * p.tk + t] = scores[t] / total;
    }
    for (var d = lid; d < p.head_dim; d += WG) {
        var acc = 0.0;
        for (var t = 0u; t < p.tk; t++) {
            acc += scores[t] * v[t * width + h * p.head_dim + d];
        }
        out[qo + d] = acc / total;
    }
}
