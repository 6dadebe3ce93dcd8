// Package experiment runs the paper's experiments (Appendix A.1): SGD and GD
// on the models of package models over their data sets, seeded and
// deterministic, with the quantities of Sections 2 and 3 recorded along
// training, sweeps over model size, and the tidy CSV and figures that
// `flatmin train` and `flatmin experiment` write.
package experiment
