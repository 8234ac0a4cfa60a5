"""What the tests share: running the real command line, generated videos and frame pairs,
the CUDA kernels built for the CPU. Tests import from here, never from each other."""
