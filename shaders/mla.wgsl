// mla: one decoding step of multi-head latent attention (DeepSeek-V2 §2.1)
// over cached keys, in either of MLA's two forms; one kernel serves both
// because they differ only in what the "keys" are.
//
//   naive:    keys = values = the decompressed per-head keys / values,
//             [len, heads, head_dim] each (key_heads = heads);
//   absorbed: keys = values = the cached latents themselves, [len, 1, d_c]
//             (key_heads = 1), and the query was already multiplied by W_uk.
//
// score(h, t) = (q[h] · keys[t, kh] + q_rope[h] · rope_keys[t]) · scale,
// with kh = h when key_heads = heads, else 0; out[h] = Σ_t softmax · values.
//
// Bindings (group 0):
//   0  params    : uniform    (heads, key_heads, key_dim, value_dim, rope_dim, max_len, len, scale as f32 bits)
//   1  q         : array<f32> read   [heads, key_dim]
//   2  q_rope    : array<f32> read   [heads, rope_dim]
//   3  keys      : array<f32> read   [len, key_heads, key_dim]
//   4  rope_keys : array<f32> read   [max_len, rope_dim]   the shared RoPE keys, k^R
//   5  values    : array<f32> read   [len, key_heads, value_dim]
//   6  out       : array<f32> write  [heads, value_dim]
//   7  probs     : array<f32> write  [heads, max_len]      this step's attention weights
//
// attend: one workgroup of WG invocations per head; scores in workgroup
//   memory sized by the override CTX, reductions as in attention.wgsl.

override WG: u32;
override CTX: u32;

struct Params {
    heads: u32,
    key_heads: u32,
    key_dim: u32,
    value_dim: u32,
    rope_dim: u32,
    max_len: u32,
    len: u32,
    scale_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> q_rope: array<f32>;
@group(0) @binding(3) var<storage, read> keys: array<f32>;
@group(0) @binding(4) var<storage, read> rope_keys: array<f32>;
@group(0) @binding(5) var<storage, read> values: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;

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
    let h = wid.x;
    let lid = lid3.x;
    let kh = select(0u, h, p.key_heads == p.heads);
    let scale = bitcast<f32>(p.scale_bits);
    var m = -3.4e38;
    for (var t = lid; t < p.len; t += WG) {
        var s = 0.0;
        for (var d = 0u; d < p.key_dim; d++) {
            s += q[h * p.key_dim + d] * keys[(t * p.key_heads + kh) * p.key_dim + d];
        }
        for (var r = 0u; r < p.rope_dim; r++) {
            s += q_rope[h * p.rope_dim + r] * rope_keys[t * p.rope_dim + r];
        }
        s *= scale;
        scores[t] = s;
        m = max(m, s);
    }
    m = reduce(lid, m, true);
    var total = 0.0;
    for (var t = lid; t < p.len; t += WG) {
        let e = exp(scores[t] - m);
        scores[t] = e;
        total += e;
    }
    total = reduce(lid, total, false);
    for (var t = lid; t < p.len; t += WG) {
        probs[h * p.max_len + t] = scores[t] / total;
    }
    for (var d = lid; d < p.value_dim; d += WG) {
        var acc = 0.0;
        for (var t = 0u; t < p.len; t++) {
            acc += scores[t] * values[(t * p.key_heads + kh) * p.value_dim + d];
        }
        out[h * p.value_dim + d] = acc / total;
    }
}
