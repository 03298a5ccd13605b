// PIMExperiments: experiments over the simulator and the trainer — sweep specs, their
// execution (matmuls, deployed and trained networks), results files and plots. Above PIMQAT,
// so that PIMSim knows nothing of training.
