// PIMQAT: tensors, layers, models, data, training and PIM-aware layers.
//
// The training substrate arrives with its own issue; this module already re-exports the
// simulator so that `pimctl` depends on one library.
@_exported import PIMSim
