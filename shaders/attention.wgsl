// attention: one decoding step of causal attention over a KV cache, with
// grouped heads: MHA (kv_heads = heads), GQA (1 < kv_heads < heads) and MQA
// (kv_heads = 1) are the same kernel. Query head h reads KV head
// h / (heads / kv_heads).
//
// Bindings (group 0):
//   0  params  : uniform     (heads, kv_heads, head_dim, max_len, pos, scale as f32 bits)
//   1  q       : array<f32>  read   [heads, head_dim]            the new token's queries
//   2  k_new   : array<f32>  read   [kv_heads, head_dim]         its key
//   3  v_new   : array<f32>  read   [kv_heads, head_dim]         its value
//   4  k_cache : array<f32>  rw     [kv_heads, max_len, head_dim]
//   5  v_cache : array<f32>  rw     [kv_heads, max_len, head_dim]
//   6  out     : array<f32>  write  [heads, head_dim]
//   7  probs   : array<f32>  write  [heads, max_len]             this step's attention weights
//
// kv_write: writes k_new and v_new at position pos. One invocation per
//   (kv head, dim); WG invocations a group. Dispatch it before attend, in the
//   same recording: dispatches run in order.
// attend: one workgroup of WG invocations (override; 64) per query head.
//   Scores for positions 0..=pos live in workgroup memory, sized by the
//   override CTX (1024 · 4 bytes); then max, exp and sum by tree reduction,
//   and each invocation produces head_dim / WG outputs.

override WG: u32;
override CTX: u32;

struct Params {
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    max_len: u32,
    pos: u32,
    scale_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_new: array<f32>;
@group(0) @binding(3) var<storage, read> v_new: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;

var<workgroup> scores: array<f32, CTX>;
var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn kv_write(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.kv_heads * p.head_dim) {
        return;
    }
    let g = i / p.head_dim;
    let d = i % p.head_dim;
    let at = (g * p.max_len + p.pos) * p.head_dim + d;
    k_cache[at] = k_new[i];
    v_cache[at] = v_new[i];
}

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
    let g = h / (p.heads / p.kv_heads);
    let scale = bitcast<f32>(p.scale_bits);
    let len = p.pos + 1u;
    var m = -3.4e38;
    for (var t = lid; t < len; t += WG) {
        var s = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            s += q[h * p.head_dim + d] * k_cache[(g * p.max_len + t) * p.head_dim + d];
        }
        s *= scale;
        scores[t] = s;
        m = max(m, s);
    }
    m = reduce(lid, m, true);
    var total = 0.0;
    for (var t = lid; t < len; t += WG) {
        let e = exp(scores[t] - m);
        scores[t] = e;
        total += e;
    }
    total = reduce(lid, total, false);
    for (var t = lid; t < len; t += WG) {
        probs[h * p.max_len + t] = scores[t] / total;
    }
    for (var d = lid; d < p.head_dim; d += WG) {
        var acc = 0.0;
        for (var t = 0u; t < len; t++) {
            acc += scores[t] * v_cache[(g * p.max_len + t) * p.head_dim + d];
        }
        out[h * p.head_dim + d] = acc / total;
    }
}
