"""The sandbox: a local stand-in for WeCom, the embedded default configuration pointed at it, and the demo.
Nothing here is needed in production; tests and `xiaowei demo` run the real service against it."""
