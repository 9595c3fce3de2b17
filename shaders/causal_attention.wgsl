// causal_attention: causal softmax attention over whole sequences with
// grouped key/value heads (Meta's repeat_kv: query head h reads kv head
// h / (H / KVH)), forward and backward, for training. No atomics and no
// barriers: every output has one invocation that sums what it needs.
//
// A batch holds R sequences of T tokens, token n = b·T + i.
// Bindings (group 0):
//   0  params  : uniform     (rows R, seq T, heads H, kv_heads KVH, head_dim D, scale)
//   1  q       : array<f32>  read   [R·T, H·D]   (after RoPE)
//   2  k       : array<f32>  read   [R·T, KVH·D] (after RoPE)
//   3  v       : array<f32>  read   [R·T, KVH·D]
//   4  probs   : array<f32>  rw     [R, H, T, T]  the softmax weights, 0 above the diagonal
//   5  out     : array<f32>  rw     [R·T, H·D]
//   6  d_out   : array<f32>  read   [R·T, H·D]    the loss's gradient at out
//   7  d_score : array<f32>  rw     [R, H, T, T]
//   8  d_qk    : array<f32>  rw     dq [R·T, H·D] or dk [R·T, KVH·D]
//   9  d_v     : array<f32>  rw     [R·T, KVH·D]
//
// forward (one invocation per (b, h, i)): s_j = scale·q_i·k_j for j ≤ i,
//   P = softmax(s), out_i = Σ_j P_ij·v_j. P is kept for the backward pass.
// backward_scores (per (b, h, i)): dP_ij = d_out_i·v_j, then the softmax's
//   backward dS_ij = P_ij·(dP_ij − Σ_j' P_ij'·dP_ij')·scale, which folds
//   in the scores' scale.
// backward_q (per (b, h, i, d)): dq_i = Σ_j dS_ij·k_j.
// backward_kv (per (b, kvh, j, d)): dk_j = Σ_h Σ_{i ≥ j} dS_ij·q_i and
//   dv_j = Σ_h Σ_{i ≥ j} P_ij·d_out_i, h over the kv head's query heads.
//
// Invocations wrap into y past 65535 workgroups. WG is an override from
// compute/src/kernels/causal_attention.rs (64).

override WG: u32;

struct Params {
    rows: u32,
    seq: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> d_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> d_score: array<f32>;
@group(0) @binding(8) var<storage, read_write> d_qk: array<f32>;
@group(0) @binding(9) var<storage, read_write> d_v: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

// Where token n's head h starts in a [R·T, heads·D] buffer.
fn at(n: u32, h: u32, heads: u32) -> u32 {
    return (n * heads + h) * p.head_dim;
}

fn kv_head(h: u32) -> u32 {
    return h / (p.heads / p.kv_heads);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = index(gid, groups);
    if (idx >= p.rows * p.heads * p.seq) {
        return;
    }
    let i = idx % p.seq;
    let h = (idx / p.seq) % p.heads;
    let b = idx / (p.seq * p.heads);
    let kvh = kv_head(h);
    let row = idx * p.seq; // ((b·H + h)·T + i)·T
    let qi = at(b * p.seq + i, h, p.heads);
    var m = -3.4e38;
    for (var j = 0u; j <= i; j++) {
        let kj = at(b * p.seq + j, kvh, p.kv_heads);
        var s = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            s += q[qi + d] * k[kj + d];
        }
        s *= p.scale;
        probs[row + j] = s;
        m = max(m, s);
    }
    var z = 0.0;
    for (var j = 0u; j <= i; j++) {
        let e = exp(probs[row + j] - m);
        probs[row + j] = e;
        z += e;
    }
    for (var j = 0u; j < p.seq; j++) {
        probs[row + j] = select(0.0, probs[row + j] / z, j <= i);
    }
    for (var d = 0u; d < p.head_dim; d++) {
        var o = 0.0;
        for (var j = 0u; j <= i; j++) {
            o += probs[row + j] * v[at(b * p.seq + j, kvh, p.kv_heads) + d];
        }
        out[qi + d] = o;
    }
}

@compute @workgroup_size(WG)
fn backward_scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = index(gid, groups);
    if (idx >= p.rows * p.heads * p.seq) {
        return;
    }
    let i = idx % p.seq;
    let h = (idx / p.seq) % p.heads;
    let b = idx / (p.seq * p.heads);
    let kvh = kv_head(h);
    let row = idx * p.seq;
    let oi = at(b * p.seq + i, h, p.heads);
    var total = 0.0;
    for (var j = 0u; j <= i; j++) {
        let vj = at(b * p.seq + j, kvh, p.kv_heads);
        var dp = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            dp += d_out[oi + d] * v[vj + d];
        }
        d_score[row + j] = dp;
        total += probs[row + j] * dp;
    }
    for (var j = 0u; j < p.seq; j++) {
        d_score[row + j] = select(0.0, probs[row + j] * (d_score[row + j] - total) * p.scale, j <= i);
    }
}

@compute @workgroup_size(WG)
fn backward_q(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = index(gid, groups);
    if (idx >= p.rows * p.seq * p.heads * p.head_dim) {
        return;
    }
    let d = idx % p.head_dim;
    let h = (idx / p.head_dim) % p.heads;
    let n = idx / (p.head_dim * p.heads);
    let i = n % p.seq;
    let b = n / p.seq;
    let kvh = kv_head(h);
    let row = ((b * p.heads + h) * p.seq + i) * p.seq;
    var g = 0.0;
    for (var j = 0u; j <= i; j++) {
        g += d_score[row + j] * k[at(b * p.seq + j, kvh, p.kv_heads) + d];
    }
    d_qk[idx] = g;
}

@compute @workgroup_size(WG)
fn backward_kv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = index(gid, groups);
    if (idx >= p.rows * p.seq * p.kv_heads * p.head_dim) {
        return;
    }
    let d = idx % p.head_dim;
    let kvh = (idx / p.head_dim) % p.kv_heads;
    let n = idx / (p.head_dim * p.kv_heads);
    let j = n % p.seq;
    let b = n / p.seq;
    let group = p.heads / p.kv_heads;
    var gk = 0.0;
    var gv = 0.0;
    for (var h = kvh * group; h < (kvh + 1u) * group; h++) {
        for (var i = j; i < p.seq; i++) {
            let s = ((b * p.heads + h) * p.seq + i) * p.seq + j;
            let qi = at(b * p.seq + i, h, p.heads) + d;
            gk += d_score[s] * q[qi];
            gv += probs[s] * d_out[qi];
        }
    }
    d_qk[idx] = gk;
    d_v[idx] = gv;
}
