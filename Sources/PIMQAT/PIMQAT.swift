// PIMQAT: tensors, layers, models, data and training; the PIM-aware layers build on PIMSim,
// which this module re-exports so that `pimctl` depends on one library.
@_exported import PIMSim
