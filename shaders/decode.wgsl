// decode: one LLaMA decoding step in four dispatches a layer, where the
// separate kernels took seventeen (RMSNorm, seven Q8 GEMVs, two RoPEs, the
// cache write, attention, two adds, SiLU and a product). On a GPU each
// dispatch costs a roughly fixed overhead, and this model's products are
// small (dim 128), so the overheads were most of a token's time.
//
//   qkv_rope   n = RMSNorm(x)·γ;  [q; k; v] = W_qkv · n;  RoPE on q and k;
//              k and v written to the caches at pos, q to `q`
//   attend_out a = softmax(q·Kᵀ·scale)·V per head (grouped heads: query head
//              h reads KV head h / (heads / kv_heads));  y = x + W_o · a
//   swiglu     n = RMSNorm(x)·γ;  y = silu(W_1 · n) ⊙ (W_3 · n)
//   down       y = x + W_2 · v_in
//   norm_gemv  n = RMSNorm(x)·γ;  y = W · n            (the output head)
//
// W is Q8_0 [R, C], dequantized on the fly: W[r, c] = q[r, c] · d[r, c / 32],
// a row's sum taken block by block as in q8.wgsl's gemv_q8_short. The CPU
// reference is the unfused sequence (compute/src/models/llama/mod.rs); the
// tests hold the GPU's logits to it and its poems equal.
//
// Bindings (group 0):
//   0  params   : uniform     (dim, rows R, cols C, heads, kv_heads, head_dim,
//                              max_len, pos, eps as f32 bits, scale as f32 bits)
//   1  x        : array<f32>  read   [dim]       the residual stream
//   2  gamma    : array<f32>  read   [dim]       the RMSNorm's weights
//   3  quants   : array<u32>  read   [R, Cp / 4] four i8 per word
//   4  scales   : array<f32>  read   [R, Cp / 32]
//   5  quants_b : array<u32>  read               W_3 (swiglu)
//   6  scales_b : array<f32>  read
//   7  rope     : array<f32>  read   [2, max_len, head_dim / 2]  cos, then sin
//                                    (one binding: WebGPU guarantees only 8
//                                    storage buffers a stage)
//   9  k_cache  : array<f32>  rw     [kv_heads, max_len, head_dim]
//  10  v_cache  : array<f32>  rw     [kv_heads, max_len, head_dim]
//  11  q        : array<f32>  rw     [heads · head_dim]
//  12  y        : array<f32>  write  [rows]
//  13  v_in     : array<f32>  read   [C]         down's input
//
// Workgroups of WG invocations (override; 64). The RMSNorm entries: every
// invocation sums x² itself (the same order in all, so the same 1/rms), the
// workgroup shares n through workgroup memory (MAX_DIM floats), and each
// invocation then owns one output row (qkv_rope: one rotated pair of rows).
// attend_out: each workgroup computes the whole attention output (SCORES
// scores, MAX_DIM outputs: a few thousand products at this size) and then
// WG rows of W_o; recomputing attention per workgroup costs less than a
// dispatch of its own.

override WG: u32;
override MAX_DIM: u32;
override SCORES: u32;
override MAX_HEADS: u32;

struct Params {
    dim: u32,
    rows: u32,
    cols: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    max_len: u32,
    pos: u32,
    eps_bits: u32,
    scale_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> quants: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<f32>;
@group(0) @binding(5) var<storage, read> quants_b: array<u32>;
@group(0) @binding(6) var<storage, read> scales_b: array<f32>;
@group(0) @binding(7) var<storage, read> rope: array<f32>;
@group(0) @binding(9) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(10) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(11) var<storage, read_write> q: array<f32>;
@group(0) @binding(12) var<storage, read_write> y: array<f32>;
@group(0) @binding(13) var<storage, read> v_in: array<f32>;

// The normed input (norm entries) or the attention output (attend_out).
var<workgroup> shared_in: array<f32, MAX_DIM>;
var<workgroup> scores: array<f32, SCORES>;
var<workgroup> totals: array<f32, MAX_HEADS>;

fn unpack_i8x4(word: u32) -> vec4<f32> {
    let w = bitcast<i32>(word);
    return vec4<f32>(
        f32(extractBits(w, 0u, 8u)),
        f32(extractBits(w, 8u, 8u)),
        f32(extractBits(w, 16u, 8u)),
        f32(extractBits(w, 24u, 8u)),
    );
}

// Columns padded to whole blocks, as the quants are stored.
fn padded(cols: u32) -> u32 {
    return (cols + 31u) / 32u * 32u;
}

// Row r of W (quants, scales) · shared_in over `cols` columns. Padding
// quants are 0, and shared_in is 0 past cols (see load_normed), so whole
// blocks are summed.
fn row_dot_shared(r: u32, cols: u32) -> f32 {
    let blocks = padded(cols) / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        let word0 = (r * blocks * 32u + b * 32u) / 4u;
        var block_sum = 0.0;
        for (var w = 0u; w < 8u; w++) {
            let c0 = b * 32u + w * 4u;
            let xs = vec4<f32>(shared_in[c0], shared_in[c0 + 1u], shared_in[c0 + 2u], shared_in[c0 + 3u]);
            block_sum += dot(unpack_i8x4(quants[word0 + w]), xs);
        }
        acc += scales[r * blocks + b] * block_sum;
    }
    return acc;
}

// The same for W_3 (quants_b, scales_b).
fn row_dot_shared_b(r: u32, cols: u32) -> f32 {
    let blocks = padded(cols) / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        let word0 = (r * blocks * 32u + b * 32u) / 4u;
        var block_sum = 0.0;
        for (var w = 0u; w < 8u; w++) {
            let c0 = b * 32u + w * 4u;
            let xs = vec4<f32>(shared_in[c0], shared_in[c0 + 1u], shared_in[c0 + 2u], shared_in[c0 + 3u]);
            block_sum += dot(unpack_i8x4(quants_b[word0 + w]), xs);
        }
        acc += scales_b[r * blocks + b] * block_sum;
    }
    return acc;
}

// shared_in = RMSNorm(x) · gamma, zero-padded to whole blocks. Every
// invocation reaches the barrier (call it before any early return).
fn load_normed(lid: u32) {
    var ss = 0.0;
    for (var c = 0u; c < p.dim; c++) {
        ss += x[c] * x[c];
    }
    let inv = inverseSqrt(ss / f32(p.dim) + bitcast<f32>(p.eps_bits));
    for (var c = lid; c < padded(p.dim); c += WG) {
        if (c < p.dim) {
            shared_in[c] = x[c] * inv * gamma[c];
        } else {
            shared_in[c] = 0.0;
        }
    }
    workgroupBarrier();
}

@compute @workgroup_size(WG)
fn qkv_rope(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    load_normed(lid);
    let pair = wid.x * WG + lid;
    if (2u * pair >= p.rows) {
        return;
    }
    let r = 2u * pair;
    let y0 = row_dot_shared(r, p.dim);
    let y1 = row_dot_shared(r + 1u, p.dim);
    let kv_dim = p.kv_heads * p.head_dim;
    let half = p.head_dim / 2u;
    let i = (r % p.head_dim) / 2u;
    let c = rope[p.pos * half + i];
    let s = rope[(p.max_len + p.pos) * half + i];
    if (r < p.dim) {
        q[r] = y0 * c - y1 * s;
        q[r + 1u] = y0 * s + y1 * c;
        return;
    }
    let kr = (r - p.dim) % kv_dim;
    let g = kr / p.head_dim;
    let at = (g * p.max_len + p.pos) * p.head_dim + kr % p.head_dim;
    if (r < p.dim + kv_dim) {
        k_cache[at] = y0 * c - y1 * s;
        k_cache[at + 1u] = y0 * s + y1 * c;
    } else {
        v_cache[at] = y0;
        v_cache[at + 1u] = y1;
    }
}

@compute @workgroup_size(WG)
fn attend_out(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let len = p.pos + 1u;
    let group = p.heads / p.kv_heads;
    let scale = bitcast<f32>(p.scale_bits);
    for (var i = lid; i < p.heads * len; i += WG) {
        let h = i / len;
        let t = i % len;
        let k0 = ((h / group) * p.max_len + t) * p.head_dim;
        var s = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            s += q[h * p.head_dim + d] * k_cache[k0 + d];
        }
        scores[i] = s * scale;
    }
    workgroupBarrier();
    for (var h = lid; h < p.heads; h += WG) {
        var m = -3.4e38;
        for (var t = 0u; t < len; t++) {
            m = max(m, scores[h * len + t]);
        }
        var total = 0.0;
        for (var t = 0u; t < len; t++) {
            let e = exp(scores[h * len + t] - m);
            scores[h * len + t] = e;
            total += e;
        }
        totals[h] = total;
    }
    workgroupBarrier();
    for (var d = lid; d < padded(p.dim); d += WG) {
        if (d >= p.dim) {
            shared_in[d] = 0.0;
            continue;
        }
        let h = d / p.head_dim;
        let v0 = (h / group) * p.max_len * p.head_dim + d % p.head_dim;
        var acc = 0.0;
        for (var t = 0u; t < len; t++) {
            acc += scores[h * len + t] * v_cache[v0 + t * p.head_dim];
        }
        shared_in[d] = acc / totals[h];
    }
    workgroupBarrier();
    let r = wid.x * WG + lid;
    if (r < p.rows) {
        y[r] = x[r] + row_dot_shared(r, p.dim);
    }
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    load_normed(lid);
    let r = wid.x * WG + lid;
    if (r < p.rows) {
        let a = row_dot_shared(r, p.dim);
        y[r] = a / (1.0 + exp(-a)) * row_dot_shared_b(r, p.dim);
    }
}

@compute @workgroup_size(WG)
fn down(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let r = wid.x * WG + lid3.x;
    if (r >= p.rows) {
        return;
    }
    // C is a whole number of blocks (the driver checks), so v_in has no
    // padding to skip.
    let blocks = p.cols / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        let word0 = (r * blocks * 32u + b * 32u) / 4u;
        var block_sum = 0.0;
        for (var w = 0u; w < 8u; w++) {
            let c0 = b * 32u + w * 4u;
            let xs = vec4<f32>(v_in[c0], v_in[c0 + 1u], v_in[c0 + 2u], v_in[c0 + 3u]);
            block_sum += dot(unpack_i8x4(quants[word0 + w]), xs);
        }
        acc += scales[r * blocks + b] * block_sum;
    }
    y[r] = x[r] + acc;
}

// Four rows an invocation: the vocabulary is thousands of rows, and each
// invocation's sum of x² is then paid once for four products.
@compute @workgroup_size(WG)
fn norm_gemv(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let lid = lid3.x;
    load_normed(lid);
    let first = (wid.x + wid.y * groups.x) * 4u * WG + lid;
    for (var k = 0u; k < 4u; k++) {
        let r = first + k * WG;
        if (r < p.rows) {
            y[r] = row_dot_shared(r, p.dim);
        }
    }
}
