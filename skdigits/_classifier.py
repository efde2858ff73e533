"""CNNDigitClassifier: the convolutional network as a scikit-learn classifier."""

import contextlib
import copyreg
import inspect
import math

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from . import _callbacks, _input, _precision, _runtime, _tta
from ._network import build_cnn, inference_function, per_block
from ._validation import check_int, check_real, is_int

# Images per forward pass in predict_proba: large enough to amortise the
# per-call cost, small enough to keep memory flat for any number of images.
_PREDICT_BATCH = 2048


class CNNDigitClassifier(KerasClassifier):
    """Convolutional neural network classifier for digit images.

    A Keras network in the family of the classic MNIST notebooks
    (convolution blocks, max-pooling and dropout; a dense layer with dropout;
    softmax), trained with Adam on cross-entropy. By default it trains on
    every image it is given, with light random rotations, shifts and zooms,
    for a fixed number of epochs along a warm-up and cosine learning-rate
    schedule; with a held-out ``validation_split`` early stopping and
    learning-rate reduction on plateau watch it too. The defaults reach
    99.5 % on the MNIST test set in about two minutes on two CPU cores (see
    :ref:`benchmarks`). It is a scikit-learn classifier: use it in
    pipelines, searches, cross-validation and displays like any other. It is
    built on scikeras' :class:`~scikeras.wrappers.KerasClassifier`; the
    network is built at fit time from the data, so it adapts to the image
    size and number of classes.

    Parameters
    ----------
    filters : tuple of int, default=(32, 64)
        Filters of the convolutions of each block; one block per entry.
    kernel_size : int, tuple of int or "auto", default="auto"
        Side of the square convolution kernels; a tuple gives each block's,
        one per entry of ``filters``. ``"auto"``: 5 in the first block, 3 in
        the others.
    convs_per_block : int, tuple of int or "auto", default="auto"
        Convolutions in each block; a tuple gives each block's, one per
        entry of ``filters``. ``"auto"``: one in the first block, two in the
        others. With ``kernel_size="auto"`` the first block is one 5 x 5
        convolution where the seed notebook has two 3 x 3 ones: as accurate
        on MNIST at half the arithmetic (see :ref:`benchmarks`);
        ``kernel_size=3, convs_per_block=2`` builds the notebook's blocks.
    padding : {"auto", "valid", "same"}, default="auto"
        Padding of the convolutions. ``"valid"`` (none) shrinks each map by
        ``kernel_size - 1`` and, on 28 x 28 images, costs half the arithmetic
        of ``"same"``, which keeps the size. ``"auto"`` is ``"valid"`` for
        images of at least 16 pixels on their smaller side (MNIST's digits
        lie inside a blank border) and ``"same"`` for smaller ones (such as
        the 8 x 8 digits, whose ink reaches the edge). A map too small for a
        valid convolution is padded whatever this says.
    dense_units : int, default=256
        Units of the dense layer before the output; 0 leaves it out.
    dropout : float, default=0.25
        Dropout rate after each convolution block.
    dense_dropout : float, default=0.5
        Dropout rate after the dense layer.
    batch_norm : bool, default=False
        Normalise each convolution's output (batch normalisation) before its
        activation.
    learning_rate : float, default=4e-3
        Peak learning rate of the Adam optimizer. By default the rate warms up
        to it over the first epoch and then decays along a cosine to 0 at the
        end of the last (the ``lr_schedule`` callback, below).
    rotation_range : float, default=5.0
        Training-time augmentation: rotate each training image by a random
        angle of up to this many degrees either way. Augmentation layers are
        part of the network but act only while training, never in predict.
        0 (with the two below) trains on the images as given.
    shift_range : float, default=0.05
        Training-time augmentation: shift each training image by up to this
        fraction of its height and width.
    zoom_range : float, default=0.05
        Training-time augmentation: zoom each training image in or out by up
        to this fraction. Pixels uncovered by any augmentation are 0, the
        background of white-on-black digits such as MNIST. On MNIST these
        light defaults did better than twice or three times as much (see
        :ref:`benchmarks`).
    batch_size : int, default=256
        Images per gradient step.
    epochs : int, default=8
        Passes over the training data; with a validation split, early
        stopping may end sooner.
        The defaults suit MNIST-size data (tens of thousands of images); on a
        few thousand, use a smaller ``batch_size`` and more epochs, since the
        network learns per step, not per epoch.
    validation_split : float, default=0.0
        Fraction of the training data held out, stratified by class, to
        monitor training. It drives the early stopping and learning-rate
        reduction callbacks below; with 0, the default, every image trains
        the network, those callbacks are off (unless set to monitor a
        training metric), and the network trains for exactly ``epochs``
        (on MNIST, training on all 60,000 images beat holding out a tenth
        to stop early).
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Floating-point precision of training and prediction. ``"bfloat16"``
        is mixed precision: the convolutions and dense layers compute in
        bfloat16, up to twice as fast as float32 on processors with bfloat16
        instructions (the larger the network, the larger the gain), while
        weights, input scaling, augmentation, softmax and loss stay float32.
        ``"auto"`` is ``"bfloat16"`` where the hardware computes it natively
        (x86 CPUs with AVX-512 BF16 or AMX; NVIDIA GPUs from Ampere on) and
        ``"float32"`` elsewhere, where bfloat16 is emulated and slower. The
        precision used is ``precision_``. Keras' global dtype policy is
        neither read nor changed.
    tta_shift : int, default=0
        Test-time augmentation: with a positive value, :meth:`predict_proba`
        (and so :meth:`predict` and :meth:`score`) averages the network's
        output on each image and on four copies shifted by this many pixels
        left, right, up and down (uncovered pixels are 0). Five times the
        prediction's work; 0, the default, predicts on the image alone. It
        changes prediction only, so it can be set on a fitted estimator.
    callbacks : list of keras.callbacks.Callback, default=None
        Callbacks of your own, run after the default ones. The default
        callbacks are configured through parameters, not this list (below).
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, dropout, shuffling and validation split. An int
        makes ``fit`` reproducible bit for bit on a CPU.
    verbose : int, default=0
        Keras' verbosity during fit: 0 silent, 1 progress bar, 2 one line
        per epoch.
    **callback_params
        ``callbacks__<name>__<argument>``: any argument of the default
        callbacks, ``early_stopping`` (:class:`keras.callbacks.EarlyStopping`,
        default ``monitor="val_accuracy", patience=4,
        restore_best_weights=True``), ``reduce_lr``
        (:class:`keras.callbacks.ReduceLROnPlateau`, default
        ``monitor="val_accuracy", factor=0.5, patience=2, min_lr=1e-5``) and
        ``lr_schedule`` (warm-up and cosine decay of the learning rate,
        default ``warmup_epochs=1, alpha=0.0``; ``warmup_epochs=0, alpha=1``
        keeps the rate constant). For example
        ``callbacks__early_stopping__patience=10``. All of them appear in
        :meth:`get_params`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the dtype of the ``y`` given to fit.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of values per sample (pixels times channels) seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fit on a DataFrame with string column names.
    image_shape_ : tuple of int
        ``(height, width, channels)`` that each sample is read as.
    input_scale_ : float
        The largest absolute input value seen in fit. Inputs are divided by
        it, so raw ``uint8`` pixels (0-255) and floats already in [0, 1] give
        the network the same values.
    precision_ : {"float32", "bfloat16"}
        The precision the network was built in: ``precision`` with
        ``"auto"`` decided for the machine that fitted it.
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch ``loss``, ``accuracy``, ``learning_rate`` and, with a
        validation split, ``val_loss`` and ``val_accuracy``.
    best_epoch_ : int
        The epoch (counting from 1) whose weights the model keeps: the best
        validation epoch when early stopping restored it, else the last.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : A fully connected network.
    scikeras.wrappers.KerasClassifier : The generic wrapper this builds on.

    Notes
    -----
    The defaults are tuned for MNIST-size images (28 x 28) and data (tens of
    thousands of images). On small images such as scikit-learn's 8 x 8
    digits, turn the augmentation off (``rotation_range=0, shift_range=0,
    zoom_range=0``): a shift of 5 % of 8 pixels only blurs them (held out,
    0.92-0.95 accuracy with it against 0.96-0.98 without, in a small network).

    Input may be flat ``(n, height * width)``, ``(n, height, width)`` or
    ``(n, height, width, channels)``. A flat row whose length is a perfect
    square is read as a square one-channel image (784 as 28 x 28, 64 as
    8 x 8); any other length as a 1 x k strip. After fit, flat rows of
    ``n_features_in_`` values are read as images of ``image_shape_``, and
    images must have that shape (the channel axis may be left out for one
    channel): other images of as many values are refused, not reshaped.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdigits import CNNDigitClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=0)
    >>> clf = CNNDigitClassifier(filters=(16,), dense_units=64, batch_size=32,
    ...                          epochs=20, rotation_range=0, shift_range=0,
    ...                          zoom_range=0, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    >>> clf.predict(X_test[:5])
    array([2, 0, 4, 9, 4])
    >>> y_test[:5]
    array([2, 0, 4, 9, 4])
    """

    # scikeras reads these; they are fixed here rather than parameters.
    model = None
    build_fn = None
    warm_start = False
    class_weight = None
    loss = "sparse_categorical_crossentropy"

    def __init__(
        self,
        *,
        filters=(32, 64),
        kernel_size="auto",
        convs_per_block="auto",
        padding="auto",
        dense_units=256,
        dropout=0.25,
        dense_dropout=0.5,
        batch_norm=False,
        learning_rate=4e-3,
        rotation_range=5.0,
        shift_range=0.05,
        zoom_range=0.05,
        batch_size=256,
        epochs=8,
        validation_split=0.0,
        precision="auto",
        tta_shift=0,
        callbacks=None,
        random_state=None,
        verbose=0,
        **callback_params,
    ):
        self.filters = filters
        self.kernel_size = kernel_size
        self.convs_per_block = convs_per_block
        self.padding = padding
        self.dense_units = dense_units
        self.dropout = dropout
        self.dense_dropout = dense_dropout
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.rotation_range = rotation_range
        self.shift_range = shift_range
        self.zoom_range = zoom_range
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.precision = precision
        self.tta_shift = tta_shift
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(callback_params)

    # ------------------------------------------------------------------
    # scikit-learn protocol

    # scikeras 0.13 lists ClassifierMixin to the right of BaseEstimator, whose
    # __sklearn_tags__ does not call super(): on scikit-learn >= 1.6 the mixin's
    # tags never apply (no estimator type, so is_classifier() is False), and
    # Python's MRO forbids listing the mixin again on our left. So the
    # classifier tags are declared here: the mixin's first, then ours.
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.non_deterministic = False  # an int random_state fixes every result
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    score = ClassifierMixin.score

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, include every ``callbacks__<name>__<argument>`` of the
            default callbacks, as nested parameters (like a pipeline's
            ``<step>__<parameter>``). If False, only those set explicitly.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        if deep:
            for key, value in _callbacks.default_callback_params().items():
                params.setdefault(key, value)
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Every name is checked before anything is changed, so an invalid name
        leaves the estimator as it was.

        Parameters
        ----------
        **params : dict
            Estimator parameters, including ``callbacks__<name>__<argument>``.

        Returns
        -------
        self : CNNDigitClassifier
            The estimator.

        Raises
        ------
        ValueError
            For a name that is not a parameter, with the closest valid name.
        """
        valid = self.get_params()
        for key in params:
            if key.startswith(_callbacks.PREFIX):
                _callbacks.check_callback_param(key)
            elif key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator "
                    f"{type(self).__name__}.{_callbacks.suggest(key, valid)} "
                    "Valid parameters are listed by get_params()."
                )
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _get_param_names(self):
        # Parameters are what __init__ stored: public names in the instance
        # dict that are not fitted attributes (trailing underscore).
        return sorted(
            k for k in vars(self) if not k.startswith("_") and not k.endswith("_")
        )

    def __reduce_ex__(self, protocol):
        # Unpickling calls _new_estimator before it unpickles the state: the
        # thread rule then applies before the network's weights start
        # TensorFlow in a fresh process, as at a first fit (for a process
        # given SKDIGITS_NUM_THREADS, such as a Dask worker or a joblib one).
        reduced = super().__reduce_ex__(protocol)
        if isinstance(reduced, tuple) and reduced[0] in (
            copyreg.__newobj__,
            copyreg._reconstructor,
        ):
            return (_new_estimator, (type(self),), *reduced[2:])
        return reduced  # a subclass's own __reduce__ or __getnewargs_ex__

    def __repr__(self, N_CHAR_MAX=700):
        # Show only the parameters that differ from their defaults, like
        # scikit-learn, counting the callback parameters' defaults too.
        defaults = {
            **{
                k: p.default
                for k, p in _signature_parameters(type(self)).items()
                if p.kind == p.KEYWORD_ONLY
            },
            **_callbacks.default_callback_params(),
        }
        changed = []
        for key, value in self.get_params(deep=False).items():
            default = defaults.get(key, _MISSING)
            if default is _MISSING or not _same(value, default):
                changed.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------------
    # input validation

    def _check_params(self):
        """Check parameter names and the values fit relies on, before any work."""
        for key in self.get_params(deep=False):
            if key.startswith(_callbacks.PREFIX):
                _callbacks.check_callback_param(key)
        check_real("validation_split", self.validation_split, "in [0, 1)")
        if not 0 <= self.validation_split < 1:
            raise ValueError(
                f"validation_split must be in [0, 1), got {self.validation_split!r}"
            )
        # A rate that is not a finite number in (0, 1] trains nothing useful
        # (NaN gives an all-NaN network that predicts class 0 everywhere).
        check_real("learning_rate", self.learning_rate, "in (0, 1]")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(
                f"learning_rate must be in (0, 1], got {self.learning_rate!r}"
            )
        check_int(
            "dense_units",
            self.dense_units,
            "an int >= 0",
            maximum=2**31 - 1,
            type_error=ValueError,
        )
        check_int(
            "verbose", self.verbose, "0, 1 or 2", maximum=2, type_error=ValueError
        )
        for key in ("early_stopping__patience", "reduce_lr__patience"):
            name = f"{_callbacks.PREFIX}{key}"
            check_int(
                name, self.get_params()[name], "an int >= 0", type_error=ValueError
            )
        _tta.check_shift(self.tta_shift)
        for name in ("epochs", "batch_size"):
            check_int(name, getattr(self, name), "a positive int", minimum=1)
        filters = self.filters
        if (
            isinstance(filters, (str, bytes))
            or not hasattr(filters, "__iter__")
            or not len(tuple(filters))
            or not all(is_int(f) and f > 0 for f in filters)
        ):
            raise ValueError(
                "filters must be a non-empty sequence of positive ints, "
                f"got {filters!r}"
            )
        for name in ("kernel_size", "convs_per_block"):
            self._check_per_block(name, len(tuple(filters)))
        _precision.check_precision(self.precision)
        if self.padding not in ("auto", "valid", "same"):
            raise ValueError(
                f"padding must be 'auto', 'valid' or 'same', got {self.padding!r}"
            )
        for name in ("dropout", "dense_dropout", "shift_range", "zoom_range"):
            value = getattr(self, name)
            check_real(name, value, "in [0, 1)")
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        check_real("rotation_range", self.rotation_range, "in [0, 180] degrees")
        if not 0 <= self.rotation_range <= 180:
            raise ValueError(
                "rotation_range must be in [0, 180] degrees, "
                f"got {self.rotation_range!r}"
            )
        callbacks = self.callbacks
        if callbacks is not None and (
            not isinstance(callbacks, (list, tuple))
            or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks)
        ):
            raise TypeError(
                "callbacks must be a list of keras.callbacks.Callback instances "
                f"or None, got {callbacks!r}. The default callbacks are set "
                "through callbacks__<name>__<argument> parameters."
            )

    def _check_per_block(self, name, n_blocks):
        """ "auto", a positive int, or a tuple of one per block of ``filters``."""
        value = getattr(self, name)
        if isinstance(value, str):
            if value != "auto":
                raise ValueError(
                    f'{name} must be "auto", a positive int or a tuple of one '
                    f"per block of filters, got {value!r}"
                )
            return
        if not isinstance(value, (list, tuple)):
            check_int(
                name, value, '"auto", a positive int or a tuple of them', minimum=1
            )
            return
        if len(value) != n_blocks or not all(is_int(v) and v > 0 for v in value):
            raise ValueError(
                f'{name} must be "auto", a positive int or a tuple of one positive '
                f"int per block of filters ({n_blocks}), got {value!r}"
            )

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """Check X (and y) and shape X as a batch of float32 images.

        Replaces scikeras' own check, which accepts sparse input and knows
        nothing of images.
        """
        X, y, image_shape = _input.check_images(self, X, y, reset=reset)
        if reset and y is not None:
            self._check_targets(y)
        if reset:
            if image_shape is None:
                image_shape = _input.image_shape_of(X.shape[1])
            self.image_shape_ = tuple(int(d) for d in image_shape)
            largest = float(np.max(np.abs(X))) if X.size else 0.0
            self.input_scale_ = largest if largest > 0 else 1.0
            self.X_dtype_ = X.dtype
            self.X_shape_ = (X.shape[0], *self.image_shape_)
        X = _input.as_image_batch(X, self.image_shape_)
        return X, y

    @staticmethod
    def _check_targets(y):
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                "CNNDigitClassifier needs samples of at least 2 classes to fit, "
                f"but y has 1 class: {classes[0]!r}"
            )

    # ------------------------------------------------------------------
    # the network and its training

    def _keras_build_fn(self, meta):
        """The scikeras model-building hook: the network for the fitted data."""
        return build_cnn(**self._network_kwargs(meta))

    def _network_kwargs(self, meta):
        """``build_cnn``'s arguments for these parameters and the fitted data."""
        return dict(
            image_shape=meta["image_shape_"],
            n_classes=meta["n_classes_"],
            input_scale=meta["input_scale_"],
            filters=tuple(int(f) for f in self.filters),
            kernel_size=self._per_block("kernel_size"),
            convs_per_block=self._per_block("convs_per_block"),
            padding=self.padding,
            dense_units=int(self.dense_units),
            dropout=float(self.dropout),
            dense_dropout=float(self.dense_dropout),
            batch_norm=bool(self.batch_norm),
            learning_rate=float(self.learning_rate),
            rotation_range=float(self.rotation_range),
            shift_range=float(self.shift_range),
            zoom_range=float(self.zoom_range),
            precision=self.precision_,
        )

    def _per_block(self, name):
        """``kernel_size`` or ``convs_per_block``: one int per block."""
        return per_block(name, getattr(self, name), len(tuple(self.filters)))

    @property
    def _fit_kwargs(self):
        # validation_split is ours (a stratified split), not Keras' tail split.
        return {"batch_size", "verbose", "shuffle"}

    def _initialize(self, X, y=None):
        # As scikeras' own, but seeding is done once, by fit (see _runtime).
        self._random_state = None
        X, y = self._validate_data(X, y, reset=True)
        self.precision_ = _precision.resolve_precision(self.precision)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(self.target_encoder_.get_metadata())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self.model_ = self._build_keras_model()
        self._initialize_callbacks()
        return X, y

    def _initialize_callbacks(self):
        # The callbacks depend on whether a fit has validation data, so they
        # are made in _fit_keras_model; nothing is routed to predict.
        self._fit_callbacks = []
        self._predict_callbacks = []

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        has_validation = kwargs.get("validation_data") is not None
        # partial_fit (scikeras' warm start) trains one epoch at the current
        # rate, without the default callbacks: a schedule planned for one
        # epoch would warm up from a tenth of the rate on every call.
        defaults = (
            {}
            if warm_start
            else _callbacks.make_default_callbacks(
                self.get_params(), has_validation=has_validation
            )
        )
        self._fit_callbacks = [
            _callbacks.RefuseInvalidLoss(),  # first: it stops the others
            _callbacks.LearningRateLogger(),
            *defaults.values(),
            *(self.callbacks or []),
        ]
        super()._fit_keras_model(
            X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
        )
        self.history_ = {k: list(v) for k, v in self.history_.items()}
        early_stopping = defaults.get("early_stopping")
        if early_stopping is not None and early_stopping.restore_best_weights:
            self.best_epoch_ = initial_epoch + early_stopping.best_epoch + 1
        else:
            self.best_epoch_ = len(self.history_["loss"])

    def fit(self, X, y, sample_weight=None):
        """Train a new network on images ``X`` with labels ``y``.

        If anything fails (bad input, an interrupted training), the estimator
        is left exactly as it was before the call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), \
                (n_samples, height, width) or (n_samples, height, width, channels)
            Training images.
        y : array-like of shape (n_samples,)
            Class labels: ints, strings, any labels scikit-learn accepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training samples in the loss; samples of weight
            zero are left out.

        Returns
        -------
        self : CNNDigitClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            For a parameter or input that cannot train, naming it: among
            others, values of ``X`` beyond float32's range (about 3.4e38),
            or a ``validation_split`` that leaves no sample to train on or
            to validate with. Also if training diverges: a loss that turns
            NaN or infinite stops the fit at that batch (Keras'
            :class:`~keras.callbacks.TerminateOnNaN`), and the estimator is
            left as it was.
        TypeError
            For a parameter of the wrong type, naming it.
        """
        self._check_params()
        _runtime.apply_env_threads()
        with self._unchanged_on_failure():
            seed = _runtime.seed_from(self.random_state)
            with _runtime.seeded(seed):
                self._fit_new(X, y, sample_weight, seed)
        return self

    @contextlib.contextmanager
    def _unchanged_on_failure(self, *, in_place=False):
        """Put every attribute back as it was if the block raises.

        With ``in_place`` (partial_fit, which trains the network it has),
        the network's weights and its optimizer's state are put back too,
        and the lists of ``history_``; fit builds a new network instead.
        """
        before = dict(vars(self))
        history, variables = {}, []
        if in_place:
            history = {k: list(v) for k, v in getattr(self, "history_", {}).items()}
            variables = _model_variables(getattr(self, "model_", None))
        saved = [keras.ops.convert_to_numpy(v.value) for v in variables]
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            for variable, value in zip(variables, saved, strict=True):
                variable.assign(value)
            if history:  # scikeras extends the lists in place
                lists = before["history_"]
                for key in set(lists) - set(history):
                    del lists[key]
                for key, values in history.items():
                    lists[key][:] = values
            raise

    def _fit_new(self, X, y, sample_weight, seed):
        self.classes_ = None  # scikeras' target encoder reads it
        X, y = self._initialize(X, y)
        if sample_weight is not None:
            X, y, sample_weight = self._validate_sample_weight(X, y, sample_weight)
            if np.any(np.asarray(sample_weight) < 0):
                raise ValueError("sample_weight must be >= 0, got negative weights")
            self._check_targets(y)
        y = self.target_encoder_.transform(y)
        train, validation = _split_validation(
            X, y, sample_weight, self.validation_split, seed
        )
        self._fit_keras_model(
            *train,
            warm_start=False,
            epochs=self.epochs,
            initial_epoch=0,
            validation_data=validation,
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing from the current state.

        No data is held out and the default callbacks do not run. The first
        call builds the network; pass ``classes`` there if ``y`` of that call
        does not hold every class.

        Parameters
        ----------
        X : array-like
            Images, as for :meth:`fit`.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; needed on the first call only.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : CNNDigitClassifier
            The estimator.
        """
        self._check_params()
        _runtime.apply_env_threads()
        with self._unchanged_on_failure(in_place=True):
            super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)
            self.best_epoch_ = len(self.history_["loss"])
        return self

    # ------------------------------------------------------------------
    # prediction

    def predict_proba(self, X):
        """Probability of each class for each image.

        Runs the network's compiled forward pass in batches, rather than
        ``keras.Model.predict``, which costs tens of milliseconds per call:
        a single image takes about 2 ms. With ``tta_shift`` > 0, the mean of
        the probabilities of each image and of its four shifted copies.

        Parameters
        ----------
        X : array-like
            Images, in any layout :meth:`fit` accepts, with the number of
            values per sample seen in fit: flat rows, or images of shape
            ``image_shape_``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.

        Raises
        ------
        ValueError
            For images of another shape than ``image_shape_`` (even of as
            many values), another number of values per row, values that are
            not finite or beyond float32's range; the message says which.
        """
        check_is_fitted(self, "model_")
        _tta.check_shift(self.tta_shift)
        X, _ = self._validate_data(X)
        forward = inference_function(self.model_)
        return _tta.mean_proba(
            lambda views: keras.ops.convert_to_numpy(forward(views)),
            X,
            self.tta_shift,
            _PREDICT_BATCH,
        )

    def predict(self, X):
        """Predicted class of each image.

        Parameters
        ----------
        X : array-like
            Images, as for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``, in their original dtype.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _model_variables(model):
    """Every variable of a network and of its optimizer (once it is built)."""
    if model is None:
        return []
    optimizer = getattr(model, "optimizer", None)
    return [*model.variables, *(optimizer.variables if optimizer else [])]


def _new_estimator(cls):
    """An empty estimator for unpickling, after the thread rule applies."""
    _runtime.apply_env_threads()
    return cls.__new__(cls)


def _split_validation(X, y, sample_weight, fraction, seed):
    """Hold out ``fraction`` of the data, stratified by class when possible.

    Returns ``((X, y, sample_weight), validation)`` where ``validation`` is
    ``(X, y)`` or ``(X, y, sample_weight)``, or None when nothing is held out.
    """
    n_samples = len(X)
    if fraction == 0:
        return (X, y, sample_weight), None
    n_validation = math.ceil(fraction * n_samples)
    if n_validation < 1 or n_samples - n_validation < 1:
        raise ValueError(
            f"validation_split={fraction!r} of {n_samples} samples holds out "
            f"{n_validation} and leaves {n_samples - n_validation} to train on; "
            "both need at least 1. Give more samples, or a smaller "
            "validation_split (0 holds nothing out)."
        )
    _, counts = np.unique(y, return_counts=True)
    can_stratify = counts.min() >= 2 and n_validation >= len(counts)
    arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
    parts = train_test_split(
        *arrays,
        test_size=n_validation,
        random_state=seed,
        stratify=y if can_stratify else None,
    )
    train, validation = parts[0::2], parts[1::2]
    if sample_weight is None:
        train.append(None)
    return tuple(train), tuple(validation)


_MISSING = object()


def _signature_parameters(cls):
    return inspect.signature(cls.__init__).parameters


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b
