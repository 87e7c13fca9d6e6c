"""Every wire Struct, grouped by area, and the validator that turns a payload into one."""
