import ArgumentParser
import PIMQAT

// The library's enumerations as option values (their raw values are the flag spellings).
extension DatasetName: ExpressibleByArgument {}
extension Rescale: ExpressibleByArgument {}
extension PrecisionAdjustment: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension Augmentation: ExpressibleByArgument {}
extension Scheme: ExpressibleByArgument {}
extension ADCConfig.RangePolicy: ExpressibleByArgument {}
extension RealValuedFrontEnd.WeightScaling: ExpressibleByArgument {}
