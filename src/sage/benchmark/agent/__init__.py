"""Agent capability benchmark (``sage bench agent``): tool selection, multi-step
planning and tool-call timing over the shipped synthetic set, BFCL and MetaTool items."""
