package berth

// SetStartHook lets tests stop the starting process at a step of Start.
func SetStartHook(f func(step string)) { startHook = f }
