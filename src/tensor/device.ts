// Devices, named as in PyTorch: 'cpu', 'cuda' (the current CUDA device) or 'cuda:<index>'.

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** `spec` as a Device, or an error naming it; libtorch's device strings ('cpu', 'cuda:0') pass. */
export function parseDevice(spec: string): Device {
  if (/^(cpu|cuda(:(0|[1-9]\d*))?)$/.test(spec)) return spec as Device;
  throw new Error(`unknown device '${spec}': expected 'cpu', 'cuda' or 'cuda:<index>'`);
}
