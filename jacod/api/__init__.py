"""gRPC edge of jacod: servicers, interceptors, and proto <-> domain conversion.
Generated protobuf types do not travel past this package."""
