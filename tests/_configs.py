"""Estimator configurations shared by the test modules."""

# A configuration that learns the 8x8 digits in a few seconds.
FAST = dict(
    filters=(16,),
    dense_units=64,
    batch_size=32,
    learning_rate=3e-3,
    epochs=20,
    random_state=0,
)
