// spp_max: spatial pyramid pooling (He et al. 2014) of many windows of one
// feature map in a single dispatch. Each window is cut into n × n bins at
// every pyramid level n, and each bin is max-pooled per channel, so any
// window gives Σ n² × C numbers.
//
// Bin i of n over a side of length a (from the window's start) covers
// [⌊i·a/n⌋, ⌈(i+1)·a/n⌉): never empty for a ≥ 1, and the bins cover every
// cell. (The common window ⌈a/n⌉, stride ⌊a/n⌋ rule misses cells: for
// a = 7, n = 4 it covers 5 of the 7.) compute::kernels::spp::bin_bounds is
// the same rule on the CPU.
//
// crop_resize: R-CNN's input. Each window of a grey image is cropped and
// resized bilinearly to out_width × out_height, sampling at pixel centres
// (compute::reference::spp::crop_resize_ref, in the same f32 steps).
//
// Bindings (group 0):
//   0  params   : uniform     (levels n0..n3, level count, channels, height, width, windows, bins,
//                              out_width, out_height)
//   1  features : array<f32>  read   [height, width, channels] (channels last); crop_resize: the
//                                    image, [height, width]
//   2  windows  : array<u32>  read   [windows, 4]: x0, y0, x1, y1 in feature cells, half-open;
//                                    crop_resize: in pixels
//   3  out      : array<f32>  write  [windows, bins, channels]; bins level by level, row-major;
//                                    crop_resize: [windows, out_height, out_width]
//
// Workgroup: WG invocations (override; 256), one output element each, so
// neighbouring invocations read neighbouring channels; the grid wraps into
// y past 65535 groups.

override WG: u32;

struct Params {
    levels: vec4<u32>,
    count: u32,
    channels: u32,
    height: u32,
    width: u32,
    windows: u32,
    bins: u32,
    out_width: u32,
    out_height: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> features: array<f32>;
@group(0) @binding(2) var<storage, read> windows: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn spp_max(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * WG;
    if (idx >= p.windows * p.bins * p.channels) {
        return;
    }
    let c = idx % p.channels;
    var bin = (idx / p.channels) % p.bins;
    let w = idx / (p.channels * p.bins);
    // Which level the bin belongs to, and its place in that level's grid.
    var n = 1u;
    for (var l = 0u; l < p.count; l++) {
        n = p.levels[l];
        if (bin < n * n) {
            break;
        }
        bin -= n * n;
    }
    let by = bin / n;
    let bx = bin % n;
    let x0 = windows[4u * w];
    let y0 = windows[4u * w + 1u];
    let a = windows[4u * w + 2u] - x0;
    let b = windows[4u * w + 3u] - y0;
    let xa = x0 + bx * a / n;
    let xb = x0 + ((bx + 1u) * a + n - 1u) / n;
    let ya = y0 + by * b / n;
    let yb = y0 + ((by + 1u) * b + n - 1u) / n;
    var best = features[(ya * p.width + xa) * p.channels + c];
    for (var y = ya; y < yb; y++) {
        for (var x = xa; x < xb; x++) {
            best = max(best, features[(y * p.width + x) * p.channels + c]);
        }
    }
    out[idx] = best;
}

@compute @workgroup_size(WG)
fn crop_resize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * WG;
    let tw = p.out_width;
    let th = p.out_height;
    if (idx >= p.windows * tw * th) {
        return;
    }
    let ox = idx % tw;
    let oy = (idx / tw) % th;
    let k = idx / (tw * th);
    let x0 = windows[4u * k];
    let y0 = windows[4u * k + 1u];
    let ww = windows[4u * k + 2u] - x0;
    let wh = windows[4u * k + 3u] - y0;
    let sx = f32(ww) / f32(tw);
    let sy = f32(wh) / f32(th);
    let fy = clamp((f32(oy) + 0.5) * sy - 0.5, 0.0, f32(wh - 1u));
    let fx = clamp((f32(ox) + 0.5) * sx - 0.5, 0.0, f32(ww - 1u));
    let fy0 = floor(fy);
    let fx0 = floor(fx);
    let ty = fy - fy0;
    let tx = fx - fx0;
    let ya = y0 + u32(fy0);
    let yb = y0 + min(u32(fy0) + 1u, wh - 1u);
    let xa = x0 + u32(fx0);
    let xb = x0 + min(u32(fx0) + 1u, ww - 1u);
    let a = features[ya * p.width + xa];
    let b = features[ya * p.width + xb];
    let c = features[yb * p.width + xa];
    let d = features[yb * p.width + xb];
    let top = a + (b - a) * tx;
    let bottom = c + (d - c) * tx;
    out[idx] = top + (bottom - top) * ty;
}
