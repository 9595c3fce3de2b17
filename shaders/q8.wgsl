// q8: y[i, r] = Σ_c W[r, c] · x[i, c], with W stored in Q8_0 (a linear layer,
// weights [out, in]), dequantized on the fly: W[r, c] = q[r, c] · d[r, c / 32].
//
// Bindings (group 0):
//   0  params : uniform     (rows R, cols C, padded cols Cp, batch m, first row r0, accumulate)
//   1  quants : array<u32>  read   [R, Cp / 4]   four i8 per word, little-endian
//   2  scales : array<f32>  read   [R, Cp / 32]
//   3  x      : array<f32>  read   [m, C]
//   4  y      : array<f32>  write  [m, R]
//
// WG is an override from compute/src/kernels/q8.rs (16).
//
// gemv_q8 (m = 1, decoding): y[r] = W[r0 + r, :] · x for r < R, so a step
//   that needs only some rows (an autoregressive model's next pixel) reads
//   only those. One workgroup of WG² invocations per output row;
//   invocation j takes blocks j, j + WG², … of the row. Each 32-bit load
//   brings four weights, dotted with four x values as vec4s, so every weight
//   byte is read exactly once. A tree reduction in workgroup memory (WG² · 4
//   bytes = 1 KiB) sums the partials. Rows wrap into y past 65535.
// gemv_q8_short (m = 1, short rows): one invocation per output row, WG²
//   rows per workgroup, each summing its row's blocks in order. When C is
//   small (chapter 2's rows have 64 to 512 weights) a 256-invocation
//   workgroup per row costs far more than the row, above all on software
//   GPUs. Rows wrap into y past 65535 workgroups.
// gemm_q8 (m > 1): y = x · Wᵀ, 4 batch rows × 4 outputs per invocation,
//   each block of 32 weights summed before its 4 scales multiply in.
//   Dispatch: (ceil(R / (4·WG)), ceil(m / (4·WG)), 1).
// q8_backward (training): the gradient at a frozen layer's input,
//   y[i, c] = Σ_r x[i, r] · W[r, c], with x the gradient at its output
//   [m, R] and y [m, C] (added to y's values when accumulate is 1), 4 batch
//   rows × 4 columns per invocation, one word of W per row r.
//   Dispatch: (ceil(C / (4·WG)), ceil(m / (4·WG)), 1).
//
// x is read only below C: a pooled x buffer may hold garbage past C, and
// garbage · 0 can be NaN.

override WG: u32;

struct Params {
    rows: u32,
    cols: u32,
    cp: u32,
    m: u32,
    r0: u32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> quants: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> scratch: array<f32, WG * WG>;

fn unpack_i8x4(word: u32) -> vec4<f32> {
    let w = bitcast<i32>(word);
    return vec4<f32>(
        f32(extractBits(w, 0u, 8u)),
        f32(extractBits(w, 8u, 8u)),
        f32(extractBits(w, 16u, 8u)),
        f32(extractBits(w, 24u, 8u)),
    );
}

// Row r's block b (32 weights) dotted with x, before the block's scale.
fn block_dot(r: u32, b: u32) -> f32 {
    let word0 = (r * p.cp + b * 32u) / 4u;
    var block_sum = 0.0;
    for (var w = 0u; w < 8u; w++) {
        let c0 = b * 32u + w * 4u;
        let q = unpack_i8x4(quants[word0 + w]);
        if (c0 + 3u < p.cols) {
            block_sum += dot(q, vec4<f32>(x[c0], x[c0 + 1u], x[c0 + 2u], x[c0 + 3u]));
        } else {
            for (var j = 0u; j < 4u; j++) {
                if (c0 + j < p.cols) {
                    block_sum += q[j] * x[c0 + j];
                }
            }
        }
    }
    return block_sum;
}

@compute @workgroup_size(WG * WG)
fn gemv_q8_short(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let out_row = gid.x + gid.y * groups.x * WG * WG;
    if (out_row >= p.rows) {
        return;
    }
    let r = p.r0 + out_row;
    let blocks = p.cp / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        acc += scales[r * blocks + b] * block_dot(r, b);
    }
    y[out_row] = acc;
}

@compute @workgroup_size(WG * WG)
fn gemv_q8(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let out_row = wid.x + wid.y * groups.x;
    let lid = lid3.x;
    if (out_row >= p.rows) {
        return; // uniform across the workgroup
    }
    let r = p.r0 + out_row;
    let threads = WG * WG;
    let blocks = p.cp / 32u;
    var acc = 0.0;
    for (var b = lid; b < blocks; b += threads) {
        acc += scales[r * blocks + b] * block_dot(r, b);
    }
    scratch[lid] = acc;
    workgroupBarrier();
    for (var s = threads / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        y[out_row] = scratch[0];
    }
}

// gemm_q8 and q8_backward: no workgroup memory and no barriers; each
// invocation computes a 4 × 4 block of y straight from global memory (rows
// of x and of W are contiguous, and caches hold them). On software GPUs,
// which run invocations as SIMD lanes on the CPU and pay for every
// barrier, this ran a LoRA step's Q8 products 1.3× faster on lavapipe
// (and the whole step 1.3× faster on SwiftShader) than WG × WG register
// tiles staged through workgroup memory (issue 29's closing note).
// x[i, c … c + 3] of an x that is [m, width]; zeros past width.
fn x4(i: u32, c: u32, width: u32) -> vec4<f32> {
    let at = i * width + c;
    if (c + 3u < width) {
        return vec4<f32>(x[at], x[at + 1u], x[at + 2u], x[at + 3u]);
    }
    var v = vec4<f32>();
    for (var j = 0u; j < 4u; j++) {
        if (c + j < width) {
            v[j] = x[at + j];
        }
    }
    return v;
}

@compute @workgroup_size(WG, WG, 1)
fn gemm_q8(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r0 = gid.x * 4u;
    let i0 = gid.y * 4u;
    if (r0 >= p.rows || i0 >= p.m) {
        return;
    }
    let blocks = p.cp / 32u;
    let last_r = p.rows - 1u;
    let last_i = p.m - 1u;
    let rr = vec4<u32>(r0, min(r0 + 1u, last_r), min(r0 + 2u, last_r), min(r0 + 3u, last_r));
    let ii = vec4<u32>(i0, min(i0 + 1u, last_i), min(i0 + 2u, last_i), min(i0 + 3u, last_i));
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var b = 0u; b < blocks; b++) {
        var s0 = vec4<f32>();
        var s1 = vec4<f32>();
        var s2 = vec4<f32>();
        var s3 = vec4<f32>();
        for (var w = 0u; w < 8u; w++) {
            let c = b * 32u + w * 4u;
            let q0 = unpack_i8x4(quants[(rr.x * p.cp + c) / 4u]);
            let q1 = unpack_i8x4(quants[(rr.y * p.cp + c) / 4u]);
            let q2 = unpack_i8x4(quants[(rr.z * p.cp + c) / 4u]);
            let q3 = unpack_i8x4(quants[(rr.w * p.cp + c) / 4u]);
            let xa = x4(ii.x, c, p.cols);
            let xb = x4(ii.y, c, p.cols);
            let xc = x4(ii.z, c, p.cols);
            let xd = x4(ii.w, c, p.cols);
            s0 += vec4<f32>(dot(xa, q0), dot(xa, q1), dot(xa, q2), dot(xa, q3));
            s1 += vec4<f32>(dot(xb, q0), dot(xb, q1), dot(xb, q2), dot(xb, q3));
            s2 += vec4<f32>(dot(xc, q0), dot(xc, q1), dot(xc, q2), dot(xc, q3));
            s3 += vec4<f32>(dot(xd, q0), dot(xd, q1), dot(xd, q2), dot(xd, q3));
        }
        let d = vec4<f32>(
            scales[rr.x * blocks + b],
            scales[rr.y * blocks + b],
            scales[rr.z * blocks + b],
            scales[rr.w * blocks + b],
        );
        acc0 += s0 * d;
        acc1 += s1 * d;
        acc2 += s2 * d;
        acc3 += s3 * d;
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            if (i0 + i < p.m && r0 + j < p.rows) {
                y[(i0 + i) * p.rows + r0 + j] = accs[i][j];
            }
        }
    }
}

@compute @workgroup_size(WG, WG, 1)
fn q8_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c0 = gid.x * 4u;
    let i0 = gid.y * 4u;
    if (c0 >= p.cols || i0 >= p.m) {
        return;
    }
    let blocks = p.cp / 32u;
    let last_i = p.m - 1u;
    let ii = vec4<u32>(i0, min(i0 + 1u, last_i), min(i0 + 2u, last_i), min(i0 + 3u, last_i));
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var r = 0u; r < p.rows; r++) {
        let q = unpack_i8x4(quants[(r * p.cp + c0) / 4u]) * scales[r * blocks + c0 / 32u];
        acc0 += x[ii.x * p.rows + r] * q;
        acc1 += x[ii.y * p.rows + r] * q;
        acc2 += x[ii.z * p.rows + r] * q;
        acc3 += x[ii.w * p.rows + r] * q;
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            if (i0 + i < p.m && c0 + j < p.cols) {
                let at = (i0 + i) * p.cols + c0 + j;
                var prior = 0.0;
                if (p.accumulate == 1u) {
                    prior = y[at];
                }
                y[at] = prior + accs[i][j];
            }
        }
    }
}
