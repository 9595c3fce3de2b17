// fused_linear: a Q8_0 linear layer with what a pre-norm transformer does
// around it, in one dispatch:
//
//   x'[i]   = x[i] + x_add[i]            for output features r < add_rows
//             (DETR's positional encoding on queries and keys, not values)
//   v[i, r] = Σ_c W[r, c] · x'[i, c] + bias[r]
//   v[i, r] += residual[i, r]            (flag 4)
//   v = relu(v) (flag 1) or sigmoid(v) (flag 2)
//   y[y_offset + i · R + r] = v
//   normed[n_offset + i · R + r] = LayerNorm_r(v[i, :]) · gamma + beta
//                                        (linear_q8_fused_norm; R == 64)
//
// W is Q8_0 [R, C], dequantized on the fly: W[r, c] = q[r, c] · d[r, c / 32].
// One dispatch replaces a GEMM, a bias add, a residual add and a LayerNorm
// (four dispatches and three intermediate buffers).
//
// Bindings (group 0):
//   0  params   : uniform    (rows R, cols C, padded cols Cp, batch m, add_rows,
//                             flags, y_offset, n_offset, eps as f32 bits)
//   1  quants   : array<u32> read   [R, Cp / 4]   four i8 per word
//   2  scales   : array<f32> read   [R, Cp / 32]
//   3  x        : array<f32> read   [m, C]
//   4  x_add    : array<f32> read   [m, C]        read only if add_rows > 0
//   5  vectors  : array<f32> read   [bias R | gamma R | beta R]
//   6  residual : array<f32> read   [m, R]        read only with flag 4
//   7  y        : array<f32> write
//   8  normed   : array<f32> write                (linear_q8_fused_norm only)
//
// linear_q8_fused: 16 × 4 invocations cover 64 output features × 16 batch
//   rows; each computes a 4 × 4 block (4 rows, 4 features) in four vec4
//   accumulators, so a step of the inner loop is two vec4 loads and 16 FMAs
//   (register blocking, as gemm.wgsl). C is walked one Q8 block (32) at a
//   time through workgroup tiles stored as vec4s, x_tile[k][row / 4] and
//   w_tile[k][feature / 4] (dequantized): 10 KiB.
//   Dispatch: (ceil(R / 64), ceil(m / 16), 1).
// linear_q8_fused_norm: 16 invocations, one batch row each with all 64
//   features in 16 vec4 accumulators, so the LayerNorm's statistics never
//   leave the invocation. (Sharing rows through workgroup memory after the
//   GEMM cost lavapipe about 7 ms a dispatch, even with the LayerNorm off.)
//   Dispatch: (1, ceil(m / 16), 1).
//
// x is read only below C: a pooled buffer may hold garbage past C.

// WG: 16, an override from compute/src/kernels/fused_linear.rs: invocations
// along the features in linear_q8_fused (four features each, so a group
// covers 64), and rows per group in linear_q8_fused_norm.
override WG: u32;
const FEATURES: u32 = 64u; // 4 · WG
const ROWS: u32 = 16u;     // 4 invocations × 4 rows

struct Params {
    rows: u32,
    cols: u32,
    cp: u32,
    m: u32,
    add_rows: u32,
    flags: u32,
    y_offset: u32,
    n_offset: u32,
    eps_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> quants: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> x_add: array<f32>;
@group(0) @binding(5) var<storage, read> vectors: array<f32>;
@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<storage, read_write> normed: array<f32>;

var<workgroup> x_tile: array<vec4<f32>, 128>;  // 32 k × ROWS / 4
var<workgroup> w_tile: array<vec4<f32>, 512>;  // 32 k × FEATURES / 4

fn unpack_i8x4(word: u32) -> vec4<f32> {
    let w = bitcast<i32>(word);
    return vec4<f32>(
        f32(extractBits(w, 0u, 8u)),
        f32(extractBits(w, 8u, 8u)),
        f32(extractBits(w, 16u, 8u)),
        f32(extractBits(w, 24u, 8u)),
    );
}

fn activate(v: vec4<f32>) -> vec4<f32> {
    if ((p.flags & 1u) != 0u) {
        return max(v, vec4<f32>());
    }
    if ((p.flags & 2u) != 0u) {
        return 1.0 / (1.0 + exp(-v));
    }
    return v;
}

@compute @workgroup_size(WG, 4, 1)
fn linear_q8_fused(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let r0 = wid.x * FEATURES;
    let i0 = wid.y * ROWS;
    let tid = lid.y * WG + lid.x;
    let blocks = p.cp / 32u;
    // Uniform across the workgroup: its 64 features are all below add_rows or none.
    let with_add = r0 < p.add_rows;
    var acc = array<vec4<f32>, 4>(); // acc[row][feature]
    for (var b = 0u; b < blocks; b++) {
        // x tile: 4 row quads × 32 columns, one vec4 (4 rows) per item.
        for (var e = tid; e < 128u; e += 4u * WG) {
            let rq = e / 32u;
            let k = e % 32u;
            let c = b * 32u + k;
            var v = vec4<f32>();
            for (var j = 0u; j < 4u; j++) {
                let i = i0 + 4u * rq + j;
                if (i < p.m && c < p.cols) {
                    v[j] = x[i * p.cols + c];
                    if (with_add) {
                        v[j] += x_add[i * p.cols + c];
                    }
                }
            }
            x_tile[k * 4u + rq] = v;
        }
        // W tile: 16 feature quads × 8 words; an item unpacks one word of
        // each of 4 features and stores 4 vec4s (4 k × 4 features).
        for (var e = tid; e < 128u; e += 4u * WG) {
            let fq = e / 8u;
            let w = e % 8u;
            var q = array<vec4<f32>, 4>();
            for (var j = 0u; j < 4u; j++) {
                let r = r0 + 4u * fq + j;
                if (r < p.rows) {
                    q[j] = unpack_i8x4(quants[(r * p.cp + b * 32u) / 4u + w]) * scales[r * blocks + b];
                }
            }
            for (var j = 0u; j < 4u; j++) {
                w_tile[(w * 4u + j) * 16u + fq] = vec4<f32>(q[0][j], q[1][j], q[2][j], q[3][j]);
            }
        }
        workgroupBarrier();
        for (var k = 0u; k < 32u; k++) {
            let xv = x_tile[k * 4u + lid.y];
            let wv = w_tile[k * 16u + lid.x];
            acc[0] += xv.x * wv;
            acc[1] += xv.y * wv;
            acc[2] += xv.z * wv;
            acc[3] += xv.w * wv;
        }
        workgroupBarrier();
    }
    let f0 = 4u * lid.x; // first of this invocation's features, within the group
    let r = r0 + f0;
    var bias = vec4<f32>();
    for (var j = 0u; j < 4u; j++) {
        if (r + j < p.rows) {
            bias[j] = vectors[r + j];
        }
    }
    for (var q = 0u; q < 4u; q++) {
        let local_row = 4u * lid.y + q;
        let i = i0 + local_row;
        var v = acc[q] + bias;
        if (i < p.m) {
            if ((p.flags & 4u) != 0u) {
                for (var j = 0u; j < 4u; j++) {
                    if (r + j < p.rows) {
                        v[j] += residual[i * p.rows + r + j];
                    }
                }
            }
            v = activate(v);
            for (var j = 0u; j < 4u; j++) {
                if (r + j < p.rows) {
                    y[p.y_offset + i * p.rows + r + j] = v[j];
                }
            }
        }
    }
}

// One invocation per row, all 64 features in 16 vec4 accumulators, so the
// LayerNorm needs no exchange between invocations.
@compute @workgroup_size(WG, 1, 1)
fn linear_q8_fused_norm(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let i = wid.y * WG + lid.x;
    let blocks = p.cp / 32u;
    let with_add = p.add_rows > 0u;
    var acc = array<vec4<f32>, 16>();
    for (var b = 0u; b < blocks; b++) {
        // W tile: 64 features × 8 words; 32 words per invocation.
        for (var e = lid.x; e < FEATURES * 8u; e += WG) {
            let f = e / 8u;
            let w = e % 8u;
            var q = vec4<f32>();
            if (f < p.rows) {
                q = unpack_i8x4(quants[(f * p.cp + b * 32u) / 4u + w]) * scales[f * blocks + b];
            }
            for (var j = 0u; j < 4u; j++) {
                w_tile[(w * 4u + j) * 16u + f / 4u][f % 4u] = q[j];
            }
        }
        workgroupBarrier();
        for (var k = 0u; k < 32u; k++) {
            let c = b * 32u + k;
            var xv = 0.0;
            if (i < p.m && c < p.cols) {
                xv = x[i * p.cols + c];
                if (with_add) {
                    xv += x_add[i * p.cols + c];
                }
            }
            for (var g = 0u; g < 16u; g++) {
                acc[g] += xv * w_tile[k * 16u + g];
            }
        }
        workgroupBarrier();
    }
    if (i >= p.m) {
        return;
    }
    var sum = 0.0;
    for (var g = 0u; g < 16u; g++) {
        var v = acc[g] + vec4<f32>(vectors[4u * g], vectors[4u * g + 1u], vectors[4u * g + 2u], vectors[4u * g + 3u]);
        if ((p.flags & 4u) != 0u) {
            let o = i * p.rows + 4u * g;
            v += vec4<f32>(residual[o], residual[o + 1u], residual[o + 2u], residual[o + 3u]);
        }
        v = activate(v);
        acc[g] = v;
        sum += dot(v, vec4<f32>(1.0));
        for (var j = 0u; j < 4u; j++) {
            y[p.y_offset + i * p.rows + 4u * g + j] = v[j];
        }
    }
    let mean = sum / f32(FEATURES);
    var sq = 0.0;
    for (var g = 0u; g < 16u; g++) {
        let d = acc[g] - mean;
        sq += dot(d, d);
    }
    let inv = inverseSqrt(sq / f32(FEATURES) + bitcast<f32>(p.eps_bits));
    for (var g = 0u; g < 16u; g++) {
        let v = (acc[g] - mean) * inv;
        for (var j = 0u; j < 4u; j++) {
            let f = 4u * g + j;
            normed[p.n_offset + i * p.rows + f] = v[j] * vectors[p.rows + f] + vectors[2u * p.rows + f];
        }
    }
}
