"""Hostile and mistaken inputs, by class: each is refused cleanly (see tests/hostile.py for what that means).

The classes are those of the "Dependable" issue: reading files, expansion, params, sizes, recipes and flags,
data, heads and fine-tuning, search spaces, inspection and prediction. Cases run in-process through
``kzoo.cli.main`` (one TensorFlow start for all of them).
"""

from __future__ import annotations

import pytest
from hostile import build_world, cases, check

READING = cases(
    ("nul", "validate {w}/a/ctrl_nul.yaml", "U+0000"),
    ("soh", "summary {w}/a/ctrl_soh.yaml", "U+0001"),
    ("esc", "validate {w}/a/ctrl_esc.yaml", "U+001B"),
    ("del", "validate {w}/a/ctrl_del.yaml", "ctrl_del.yaml:1:"),
    ("latin1", "validate {w}/a/latin1.yaml", "not UTF-8"),
    ("fifo", "validate {w}/fifo.yaml", "not a regular file"),
    ("dev_zero", "validate /dev/zero", "not a regular file"),
    ("directory", "summary {w}/adir.yaml", "is a directory"),
    ("symlink_loop", "validate {w}/loop.yaml", "symbolic link loop"),
    ("big_file", "validate {w}/a/big.yaml", "at most 1,048,576"),
    ("missing", "validate {w}/a/nothere.yaml", "no such file"),
    ("alias_bomb", "validate {w}/a/alias_bomb.yaml", "alias bomb"),
    ("deep", "validate {w}/a/deep.yaml", "deep"),
    ("tag_python", "validate {w}/a/tag_python.yaml", "python/object"),
    ("tag_custom", "validate {w}/a/tag_custom.yaml", "!shape"),
    ("dup_key", "validate {w}/a/dup_key.yaml", "duplicate key 'name'"),
    ("two_docs", "validate {w}/a/two_docs.yaml", "more than one YAML document"),
    ("a_list", "validate {w}/a/a_list.yaml", "must be a mapping"),
    ("a_scalar", "validate {w}/a/a_scalar.yaml", "must be a mapping"),
    ("yaml_syntax", "validate {w}/a/yaml_syntax.yaml", "yaml_syntax.yaml:"),
    ("tab_indent", "validate {w}/a/tab_indent.yaml", "tab_indent.yaml:"),
    ("yes_key", "validate {w}/a/yes_key.yaml", "quote it"),
    ("set_nul", "summary {w}/tiny.yaml --param act=re\x00lu", "U+0000"),
    ("set_esc", "summary {w}/tiny.yaml --param act=\x1b[31mred", "U+001B"),
)

FILES = cases(
    ("no_name", "validate {w}/a/no_name.yaml", "name"),
    ("bad_name", "validate {w}/a/bad_name.yaml", "name"),
    ("no_input", "validate {w}/a/no_input.yaml", "input"),
    ("input_negative", "validate {w}/a/input_negative.yaml", "positive integers"),
    ("input_4d", "validate {w}/a/input_4d.yaml", "input"),
    ("input_text", "validate {w}/a/input_text.yaml", "input"),
    ("top_typo", "validate {w}/a/top_typo.yaml", "layerz"),
    ("no_layers", "validate {w}/a/no_layers.yaml", "no layers"),
    ("typo_key", "validate {w}/a/typo_key.yaml", "did you mean 'kernel'"),
    ("unknown_op", "summary {w}/a/unknown_op.yaml", "convolution"),
    ("filters_text", "validate {w}/a/filters_text.yaml", "filters"),
    ("filters_zero", "validate {w}/a/filters_zero.yaml", "filters"),
    ("kernel_big", "validate {w}/a/kernel_big.yaml", "output would be"),
    ("padding_bool", "validate {w}/a/padding_bool.yaml", "quote it"),
    ("stride_neg", "validate {w}/a/stride_neg.yaml", "stride"),
    ("init_nan", "validate {w}/a/init_nan.yaml", "value"),
    ("init_inf", "validate {w}/a/init_inf.yaml", "value"),
    ("init_unknown", "validate {w}/a/init_unknown.yaml", "he_normal"),
    ("init_args", "validate {w}/a/init_args.yaml", "stdev"),
    ("leaky_beta", "validate {w}/a/leaky_beta.yaml", "beta"),
    ("dropout_rate", "validate {w}/a/dropout_rate.yaml", "rate"),
    ("conv_after_flatten", "validate {w}/a/conv_after_flatten.yaml", "image input"),
    ("expr_syntax", "validate {w}/a/expr_syntax.yaml", "syntax error"),
    ("expr_undefined", "validate {w}/a/expr_undefined.yaml", "widht"),
    ("expr_import", "validate {w}/a/expr_import.yaml", "not allowed"),
    ("expr_attr", "validate {w}/a/expr_attr.yaml", "not allowed"),
    ("expr_pow", "validate {w}/a/expr_pow.yaml", "too large"),
    ("expr_div0", "validate {w}/a/expr_div0.yaml", "division by zero"),
    ("expr_inf", "validate {w}/a/expr_inf.yaml", "finite"),
    ("expr_huge", "validate {w}/a/expr_huge.yaml", "characters"),
    ("expr_unterminated", "validate {w}/a/expr_unterminated.yaml", "unterminated"),
    ("repeat_nested", "validate {w}/a/repeat_nested.yaml", "more than 200,000 steps"),
    ("repeat_when_false", "validate {w}/a/repeat_when_false.yaml", "more than 200,000 steps"),
    ("repeat_negative", "validate {w}/a/repeat_negative.yaml", "repeat"),
    ("repeat_text", "validate {w}/a/repeat_text.yaml", "repeat"),
    ("repeat_huge", "validate {w}/a/repeat_huge.yaml", "repeat"),
    ("when_text", "validate {w}/a/when_text.yaml", "when"),
    ("from_undefined", "validate {w}/a/from_undefined.yaml", "nowhere"),
    ("from_self", "validate {w}/a/from_self.yaml", "cycle"),
    ("name_twice", "validate {w}/a/name_twice.yaml", "used twice"),
    ("name_chars", "validate {w}/a/name_chars.yaml", "name"),
    ("parallel_no_merge", "validate {w}/a/parallel_no_merge.yaml", "merge"),
    ("merge_unknown", "validate {w}/a/merge_unknown.yaml", "multiply"),
    ("add_shapes", "validate {w}/a/add_shapes.yaml", "add_shapes.yaml:"),
    ("block_recursive", "validate {w}/a/block_recursive.yaml", "calls itself"),
    ("block_unknown_arg", "validate {w}/a/block_unknown_arg.yaml", "'g'"),
    ("block_missing_arg", "validate {w}/a/block_missing_arg.yaml", "needs argument 'f'"),
    ("block_arg_type", "validate {w}/a/block_arg_type.yaml", "two"),
    ("extends_passwd", "validate {w}/a/extends_passwd.yaml", "extends_passwd.yaml:1:"),
    ("extends_outside", "validate {w}/a/extends_outside.yaml", "extends_outside.yaml:1:"),
    ("extends_missing", "validate {w}/a/extends_missing.yaml", "nothere.yaml"),
    ("extends_number", "validate {w}/a/extends_number.yaml", "extends"),
    ("extends_txt", "validate {w}/a/extends_txt.yaml", "not a .yaml file"),
    ("extends_self", "validate {w}/a/extends_self.yaml", "extends itself"),
    ("extends_loop_link", "validate {w}/a/loop_extends.yaml", "symbolic link loop"),
    ("extends_fifo", "validate {w}/a/extends_fifo.yaml", "fifo.yaml"),
)

PARAMS = cases(
    ("pool_typo_param", "summary {w}/tiny.yaml --param pool=mean", "must be one of 'avg', 'max'"),
    ("pool_typo_in_file", "summary {w}/pool_typo_in_file.yaml", "pool_typo_in_file.yaml:2:"),
    ("lenet_pooling", "summary lenet5 --param pooling=avg", "'maxpool', 'subsample'"),
    ("lenet_output", "build lenet5 --param output=rbfx", "did you mean 'rbf'"),
    ("lenet_c3", "summary lenet5 --param c3=half", "c3"),
    ("resnet_depth", "summary resnet50 --param depth=100", "101, 152"),
    ("vgg_config", "summary vgg16 --param config=F", "'A', 'B'"),
    ("alexnet_form", "summary alexnet --param form=tiny", "'owt', 'paper'"),
    ("unknown_param", "summary resnet50 --param deph=101", "did you mean 'depth'"),
    ("param_type", "summary resnet50 --param depth=fifty", "'fifty'"),
    ("param_no_value", "summary resnet50 --param depth", "KEY=VALUE"),
    ("param_nan", "summary vgg16 --param dropout=.nan", "dropout"),
    ("input_zero", "summary {w}/tiny.yaml --param input=[0,0,1]", "positive integers"),
    ("set_on_summary", "summary resnet50 --set depth=34", "--param depth=34"),
    ("unknown_param_in_space_of_names", "summary lenet5 --param poolng=maxpool", "did you mean 'pooling'"),
    ("set_on_build", "build {w}/tiny.yaml --set act=tanh", "--param"),
    ("unknown_arch", "summary resnet5", "did you mean"),
    ("bad_activation_param", "summary {w}/tiny.yaml --param act=swishh", "swishh"),
)

SIZES = cases(
    ("units_huge", "build {w}/a/units_huge.yaml", "memory"),
    ("filters_huge", "build {w}/a/filters_huge.yaml", "memory"),
    ("input_huge_train", "train {w}/tiny.yaml --param input=[100000,100000,1] --output {w}/out/huge", "memory"),
)

RECIPES = cases(
    ("set_unknown", "train {w}/tiny.yaml --set optimiser.lr=0.1 --output {w}/out/r", "--set optimiser.lr: error"),
    ("set_param", "train resnet18 --set depth=34 --output {w}/out/r", "--param depth=34"),
    ("classes_vs_digits", "train lenet5 --param classes=3 --output {w}/out/r", "the data has 10 classes"),
    (
        "classes_vs_mnist_subset",
        "train lenet5_modern --data mnist5000:5-9 --param classes=10 --output {w}/out/r",
        "the data has 5 classes",
    ),
    ("set_optimizer", "train {w}/tiny.yaml --set optimizer.name=adamw --output {w}/out/r", "adamw"),
    ("lr_inf", "train {w}/tiny.yaml --set optimizer.lr=.inf --output {w}/out/r", "optimizer.lr"),
    ("lr_negative", "train {w}/tiny.yaml --set optimizer.lr=-0.1 --output {w}/out/r", "optimizer.lr"),
    ("epochs_zero", "train {w}/tiny.yaml --set epochs=0 --output {w}/out/r", "epochs"),
    ("epochs_huge", "train {w}/tiny.yaml --set epochs=1000000000 --output {w}/out/r", "epochs"),
    ("seed_negative", "train {w}/tiny.yaml --set seed=-1 --output {w}/out/r", "seed"),
    ("seed_huge", "train {w}/tiny.yaml --set seed=8589934592 --output {w}/out/r", "seed"),
    ("batch_zero", "train {w}/tiny.yaml --set batch_size=0 --output {w}/out/r", "batch_size"),
    ("batch_over_data", "train {w}/tiny.yaml --batch-size 5000 --output {w}/out/r", "larger than the"),
    ("image_size_differs", "train {w}/tiny.yaml --set data.image_size=[28,28] --output {w}/out/r", "image_size"),
    ("image_size_zero", "train {w}/tiny.yaml --set data.image_size=[0,0] --output {w}/out/r", "image_size"),
    ("image_size_three", "train {w}/tiny.yaml --set data.image_size=[8,8,1] --output {w}/out/r", "image_size"),
    ("pad_too_big", "train {w}/tiny.yaml --set data.pad=4 --output {w}/out/r", "data.pad"),
    ("val_zero", "train {w}/tiny.yaml --set data.validation_split=0 --output {w}/out/r", "validation"),
    (
        "test_zero",
        "train {w}/tiny.yaml --set data.test_split=0 --set callbacks.early_stopping=null --output {w}/out/r",
        "test_split",
    ),
    ("split_one", "train {w}/tiny.yaml --set data.validation_split=1.5 --output {w}/out/r", "validation_split"),
    ("warmup_long", "train {w}/tiny.yaml --epochs 3 --set schedule.warmup_epochs=10 --output {w}/out/r", "warm-up"),
    ("drop_zero", "train {w}/tiny.yaml --epochs 3 --set schedule.step_drops=[0] --output {w}/out/r", "step drop"),
    ("drop_late", "train {w}/tiny.yaml --epochs 3 --set schedule.step_drops=[30] --output {w}/out/r", "step drop"),
    (
        "ramp_adam",
        "train {w}/tiny.yaml --optimizer adam --set 'momentum_ramp={start: 0.5}' --output {w}/out/r",
        "needs optimizer sgd",
    ),
    (
        "monitor_val_acc",
        "train {w}/tiny.yaml --set callbacks.early_stopping.monitor=val_acc --output {w}/out/r",
        "monitor",
    ),
    (
        "plateau_monitor",
        "train {w}/tiny.yaml --set 'schedule.plateau={monitor: valloss}' --output {w}/out/r",
        "schedule.plateau.monitor",
    ),
    ("crop_padding", "train {w}/tiny.yaml --set augment.crop_padding=100 --output {w}/out/r", "crop_padding"),
    ("rotation_range", "train {w}/tiny.yaml --set augment.rotation=720 --output {w}/out/r", "rotation"),
    ("device_missing", "train {w}/tiny.yaml --strategy mirrored --set devices=[/gpu:7] --output {w}/out/r", "/gpu:7"),
    ("device_auto", "train {w}/tiny.yaml --set devices=[/cpu:0] --output {w}/out/r", "devices"),
    ("device_syntax", "train {w}/tiny.yaml --strategy one_device --set devices=[my-gpu] --output {w}/out/r", "my-gpu"),
    ("parameter_server", "train {w}/tiny.yaml --strategy parameter_server --output {w}/out/r", "parameter"),
    ("multi_worker_no_config", "train {w}/tiny.yaml --strategy multi_worker --output {w}/out/r", "TF_CONFIG"),
    ("set_key_chars", "train {w}/tiny.yaml --set optimizer/lr=1 --output {w}/out/r", "optimizer/lr"),
    ("set_ctrl_value", "train {w}/tiny.yaml --set data.source=dig\x07its --output {w}/out/r", "U+0007"),
    ("recipe_missing", "train {w}/tiny.yaml --recipe {w}/nothere.yaml --output {w}/out/r", "nothere.yaml"),
    ("recipe_fifo", "train {w}/tiny.yaml --recipe {w}/fifo.yaml --output {w}/out/r", "not a regular file"),
    ("recipe_list", "train {w}/tiny.yaml --recipe {w}/a/a_list.yaml --output {w}/out/r", "recipe file must be"),
    ("recipe_keys", "train {w}/tiny.yaml --recipe {w}/a/no_name.yaml --output {w}/out/r", "unknown key"),
    ("source_kind", "train {w}/tiny.yaml --data csv:x.csv --output {w}/out/r", "unknown data source"),
    ("output_relu", "train {w}/a/output_relu.yaml --output {w}/out/r", "output_relu.yaml:6:5: error: the output"),
    ("output_sigmoid", "train {w}/a/output_sigmoid_dropout.yaml --output {w}/out/r", "ends in sigmoid"),
    (
        "splits_all_held_out",
        "train {w}/tiny.yaml --set data.validation_split=0.9 --output {w}/out/r",
        "test_split 0.15",
    ),
    ("source_npz_missing", "train {w}/tiny.yaml --data npz:{w}/none.npz --output {w}/out/r", "none.npz"),
    ("source_folder_missing", "train {w}/tiny.yaml --data folder:{w}/none --output {w}/out/r", "no such folder"),
)

FLAGS = cases(
    ("epochs_text", "train {w}/tiny.yaml --epochs x", "--epochs"),
    ("epochs_flag_zero", "train {w}/tiny.yaml --epochs 0", "--epochs"),
    ("lr_flag_negative", "train {w}/tiny.yaml --lr -1", "--lr"),
    ("lr_flag_nan", "train {w}/tiny.yaml --lr nan", "--lr"),
    ("seed_flag", "train {w}/tiny.yaml --seed -5", "--seed"),
    ("batch_flag", "train {w}/tiny.yaml --batch-size 0", "--batch-size"),
    ("optimizer_flag", "train {w}/tiny.yaml --optimizer adamw", "--optimizer"),
    ("strategy_flag", "train {w}/tiny.yaml --strategy gpu", "--strategy"),
    ("unknown_flag", "train {w}/tiny.yaml --epoch 3", "--epoch"),
    ("unknown_command", "trian lenet5", "trian"),
    ("plot_depth", "plot lenet5 -o {w}/out.svg --depth -1", "--depth"),
)

DATA = cases(
    ("labels_1_to_10", "train {w}/tiny.yaml --data npz:{w}/npz/labels_1_to_10.npz --output {w}/out/r", "subtract 1"),
    ("labels_float", "train {w}/tiny.yaml --data npz:{w}/npz/labels_float.npz --output {w}/out/r", "y_train[0]"),
    ("labels_short", "train {w}/tiny.yaml --data npz:{w}/npz/labels_short.npz --output {w}/out/r", "150 labels"),
    ("one_class", "train {w}/tiny.yaml --data npz:{w}/npz/one_class.npz --output {w}/out/r", "2 classes"),
    ("labels_negative", "train {w}/tiny.yaml --data npz:{w}/npz/labels_negative.npz --output {w}/out/r", "y_train[3]"),
    ("labels_nan", "train {w}/tiny.yaml --data npz:{w}/npz/labels_nan.npz --output {w}/out/r", "y_train[3]"),
    ("pixels_nan", "train {w}/tiny.yaml --data npz:{w}/npz/pixels_nan.npz --output {w}/out/r", "nan"),
    ("pixels_inf", "train {w}/tiny.yaml --data npz:{w}/npz/pixels_inf.npz --output {w}/out/r", "inf"),
    ("pixels_255", "train {w}/tiny.yaml --data npz:{w}/npz/pixels_255_float.npz --output {w}/out/r", "[0, 1]"),
    ("flat_vectors", "train {w}/tiny.yaml --data npz:{w}/npz/flat_vectors.npz --output {w}/out/r", "reshape"),
    ("five_d", "train {w}/tiny.yaml --data npz:{w}/npz/five_d.npz --output {w}/out/r", "x_train"),
    ("labels_text", "train {w}/tiny.yaml --data npz:{w}/npz/labels_text.npz --output {w}/out/r", "y_train"),
    ("no_test", "train {w}/tiny.yaml --data npz:{w}/npz/no_test.npz --output {w}/out/r", "lacks x_test"),
    ("one_hot", "train {w}/tiny.yaml --data npz:{w}/npz/one_hot.npz --output {w}/out/r", "argmax"),
    (
        "test_label_unknown",
        "train {w}/tiny.yaml --data npz:{w}/npz/test_label_unknown.npz --output {w}/out/r",
        "no training images",
    ),
    ("names_wrong", "train {w}/tiny.yaml --data npz:{w}/npz/names_wrong.npz --output {w}/out/r", "class names"),
    ("val_only_x", "train {w}/tiny.yaml --data npz:{w}/npz/val_only_x.npz --output {w}/out/r", "y_val"),
    ("channels_4", "train {w}/tiny.yaml --data npz:{w}/npz/channels_4.npz --output {w}/out/r", "x_train"),
    ("pickled", "train {w}/tiny.yaml --data npz:{w}/npz/pickled.npz --output {w}/out/r", "pickled.npz"),
    ("garbage_npz", "train {w}/tiny.yaml --data npz:{w}/npz/garbage.npz --output {w}/out/r", "garbage.npz"),
    ("npy_not_npz", "train {w}/tiny.yaml --data npz:{w}/npz/single.npz --output {w}/out/r", "single.npz"),
    ("corrupt_png", "train {w}/tiny.yaml --data folder:{w}/folders/corrupt --output {w}/out/r", "bad.png"),
    ("zero_byte_png", "train {w}/tiny.yaml --data folder:{w}/folders/zero_byte --output {w}/out/r", "empty.png"),
    ("fake_jpg", "train {w}/tiny.yaml --data folder:{w}/folders/fake --output {w}/out/r", "notes.jpg"),
    (
        "empty_class",
        "train {w}/tiny.yaml --data folder:{w}/folders/empty_class --output {w}/out/r",
        "no images in class folder 'c'",
    ),
    (
        "one_class_folder",
        "train {w}/tiny.yaml --data folder:{w}/folders/one_class --output {w}/out/r",
        "sub-folder per class",
    ),
    ("no_images", "train {w}/tiny.yaml --data folder:{w}/folders/no_images --output {w}/out/r", "no images"),
)

FINETUNE = cases(
    (
        "head_width",
        "finetune --from {w}/model.keras --data digits --head '[{dense: 3}]' --output {w}/out/f",
        "3 outputs",
    ),
    (
        "head_feature_map",
        "finetune --from {w}/model.keras --data digits --cut conv1 --head '[{dense: 10}]' --output {w}/out/f",
        "global_avgpool",
    ),
    (
        "head_relu",
        "finetune --from {w}/model.keras --data digits --head '[{dense: {units: 10, activation: relu}}]' "
        "--output {w}/out/f",
        "ends in relu",
    ),
    ("head_yaml", "finetune --from {w}/model.keras --data digits --head [{dense: --output {w}/out/f", "<head>:1:"),
    (
        "head_file_missing",
        "finetune --from {w}/model.keras --data digits --head {w}/nohead.yaml --output {w}/out/f",
        "nohead.yaml",
    ),
    (
        "head_unknown_op",
        "finetune --from {w}/model.keras --data digits --head [{dence:10}] --output {w}/out/f",
        "dence",
    ),
    ("unfreeze_comma", "finetune --from {w}/model.keras --data digits --unfreeze , --output {w}/out/f", "--unfreeze"),
    ("unfreeze_unknown", "finetune --from {w}/model.keras --data digits --unfreeze conv9 --output {w}/out/f", "conv9"),
    ("unfreeze_last0", "finetune --from {w}/model.keras --data digits --unfreeze last:0 --output {w}/out/f", "last:N"),
    ("classes_many", "finetune --from {w}/model.keras --data digits --classes many", "--classes"),
    ("classes_one", "finetune --from {w}/model.keras --data digits --classes 1", "--classes"),
    ("classes_mismatch", "finetune --from {w}/model.keras --data digits --classes 5 --output {w}/out/f", "10 classes"),
    ("from_missing", "finetune --from {w}/nomodel.keras --data digits --output {w}/out/f", "nomodel.keras"),
    ("from_unknown_name", "finetune --from resnet5 --data digits --output {w}/out/f", "did you mean"),
    ("from_not_keras", "finetune --from {w}/afile.keras --data digits --output {w}/out/f", "afile.keras"),
    ("cut_unknown", "finetune --from {w}/model.keras --data digits --cut conv7 --output {w}/out/f", "conv7"),
    ("param_saved", "finetune --from {w}/model.keras --data digits --param classes=3 --output {w}/out/f", "--param"),
    ("finetune_epochs", "finetune --from {w}/model.keras --data digits --epochs 0", "--epochs"),
)

SPACES = cases(
    ("space_missing", "tune {w}/tiny.yaml --space {w}/nospace.yaml --output {w}/out/t", "nospace.yaml"),
    ("space_list", "tune {w}/tiny.yaml --space {w}/a/a_list.yaml --output {w}/out/t", "search space"),
    ("space_param", "tune {w}/tiny.yaml --space {w}/s/param.yaml --output {w}/out/t", "did you mean 'act'"),
    ("space_range", "tune {w}/tiny.yaml --space {w}/s/range.yaml --output {w}/out/t", "min < max"),
    ("space_empty", "tune {w}/tiny.yaml --space {w}/s/empty.yaml --output {w}/out/t", "empty list"),
    ("space_mixed", "tune {w}/tiny.yaml --space {w}/s/mixed.yaml --output {w}/out/t", "one type"),
    ("space_log", "tune {w}/tiny.yaml --space {w}/s/log.yaml --output {w}/out/t", "log range"),
    ("space_grid", "tune {w}/tiny.yaml --space {w}/s/grid.yaml --algorithm grid --output {w}/out/t", "step"),
    ("space_value", "tune {w}/tiny.yaml --space {w}/s/value.yaml --output {w}/out/t", "optimizer.lr"),
    ("space_field", "tune {w}/tiny.yaml --space {w}/s/field.yaml --output {w}/out/t", "momentun"),
    ("space_choice", "tune {w}/tiny.yaml --space {w}/s/choice.yaml --output {w}/out/t", "must be one of"),
    ("space_section", "tune {w}/tiny.yaml --space {w}/s/section.yaml --output {w}/out/t", "unknown key 'sett'"),
    ("space_old_form", "tune {w}/tiny.yaml --space {w}/s/old_form.yaml --output {w}/out/t", "under param:"),
    ("space_classes", "tune {w}/tiny.yaml --space {w}/s/classes.yaml --output {w}/out/t", "cannot be searched"),
    ("trials_zero", "tune {w}/tiny.yaml --space {w}/space_ok.yaml --trials 0", "--trials"),
    ("algorithm", "tune {w}/tiny.yaml --space {w}/space_ok.yaml --algorithm hyperband", "--algorithm"),
)

LOOKING = cases(
    ("occlusion_size0", "inspect occlusion {w}/model.keras {w}/images/one.png --size 0", "--size"),
    ("occlusion_size_neg", "inspect occlusion {w}/model.keras {w}/images/one.png --size -3", "--size"),
    ("occlusion_stride0", "inspect occlusion {w}/model.keras {w}/images/one.png --stride 0", "--stride"),
    ("occlusion_size_big", "inspect occlusion {w}/model.keras {w}/images/one.png --size 99 -o {w}/o.png", "larger"),
    ("occlusion_class", "inspect occlusion {w}/model.keras {w}/images/one.png --class seven -o {w}/o.png", "seven"),
    (
        "occlusion_class_range",
        "inspect occlusion {w}/model.keras {w}/images/one.png --class 99 -o {w}/o.png",
        "out of range",
    ),
    ("occlusion_fill", "inspect occlusion {w}/model.keras {w}/images/one.png --fill 7", "--fill"),
    ("dream_class", "inspect dream {w}/model.keras --class x -o {w}/d.png", "'x'"),
    ("filters_layer", "inspect filters {w}/model.keras --layer conv9 -o {w}/f.png", "conv9"),
    (
        "activations_image",
        "inspect activations {w}/model.keras {w}/images/none.png --layer conv1 -o {w}/a.png",
        "none.png",
    ),
    (
        "activations_broken",
        "inspect activations {w}/model.keras {w}/images/broken.png --layer conv1 -o {w}/a.png",
        "broken.png",
    ),
    ("inspect_init_unknown", "inspect init lenet5 --init he_normall -o {w}/i.png", "he_normall"),
    ("init_no_param", "inspect init {w}/tiny.yaml --init he_normal -o {w}/i.png", "no 'init' param"),
    ("curves_missing", "inspect curves {w}/norun -o {w}/c.png", "norun"),
    ("curves_yaml", "inspect curves {w}/tiny.yaml -o {w}/c.png", "tiny.yaml is not a training log"),
    ("curves_binary", "inspect curves {w}/npz/garbage.npz -o {w}/c.png", "garbage.npz is not a training log"),
    ("curves_fifo", "inspect curves {w}/fifo.yaml -o {w}/c.png", "not a regular file"),
    ("predict_model", "predict {w}/nomodel.keras {w}/images/one.png", "nomodel.keras"),
    ("predict_image", "predict {w}/model.keras {w}/images/none.png", "none.png"),
    ("predict_broken", "predict {w}/model.keras {w}/images/broken.png", "broken.png"),
    ("predict_empty_folder", "predict {w}/model.keras {w}/folders/no_images/a", "no image files"),
    ("predict_top0", "predict {w}/model.keras {w}/images/one.png --top 0", "--top"),
    ("predict_tta", "predict {w}/model.keras {w}/images/one.png --tta spin", "spin"),
    ("evaluate_missing", "evaluate {w}/norun", "norun"),
    ("evaluate_tta", "evaluate {w}/model.keras --tta rotate", "rotate"),
    ("build_o_dir", "build {w}/tiny.yaml -o {w}/adir.yaml.keras", "is a directory"),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from kzoo.cli import main

    w = build_world(tmp_path_factory.mktemp("hostile"))
    # An untrained tiny model for the cases that need one; its first (unnamed) conv is named conv1.
    assert main(["build", str(w / "tiny.yaml"), "--param", "input=[32,32,1]", "-o", str(w / "model.keras")]) == 0
    return w


def run_main(capsys):
    from kzoo.cli import main

    def run(argv):
        capsys.readouterr()
        rc = main(argv)
        out, err = capsys.readouterr()
        return rc, out, err

    return run


CAFFE = cases(
    ("caffe_syntax", "import caffe {w}/caffe/syntax.prototxt -o {w}/caffe/o.yaml", "syntax.prototxt:3:9"),
    ("caffe_unbalanced", "import caffe {w}/caffe/unbalanced.prototxt -o {w}/caffe/o.yaml", "unbalanced.prototxt:"),
    ("caffe_unknown_type", "import caffe {w}/caffe/unknown_type.prototxt -o {w}/caffe/o.yaml", "'up' (Deconvolution)"),
    ("caffe_no_kernel", "import caffe {w}/caffe/no_kernel.prototxt -o {w}/caffe/o.yaml", "kernel_size"),
    ("caffe_no_output", "import caffe {w}/caffe/no_output.prototxt -o {w}/caffe/o.yaml", "num_output"),
    ("caffe_stochastic", "import caffe {w}/caffe/stochastic.prototxt -o {w}/caffe/o.yaml", "STOCHASTIC"),
    ("caffe_bad_blob", "import caffe {w}/caffe/bad_blob.prototxt -o {w}/caffe/o.yaml", "'dta'"),
    ("caffe_no_layers", "import caffe {w}/caffe/no_layers.prototxt -o {w}/caffe/o.yaml", "no layers"),
    ("caffe_no_input", "import caffe {w}/caffe/no_input.prototxt -o {w}/caffe/o.yaml", "no input"),
    ("caffe_short_dims", "import caffe {w}/caffe/short_dims.prototxt -o {w}/caffe/o.yaml", "short_dims.prototxt:1"),
    ("caffe_duplicate", "import caffe {w}/caffe/duplicate.prototxt -o {w}/caffe/o.yaml", "two layers"),
    ("caffe_too_small", "import caffe {w}/caffe/too_small.prototxt -o {w}/caffe/o.yaml", "output would be"),
    ("caffe_even_lrn", "import caffe {w}/caffe/even_lrn.prototxt -o {w}/caffe/o.yaml", "odd"),
    ("caffe_concat_axis", "import caffe {w}/caffe/concat_axis.prototxt -o {w}/caffe/o.yaml", "axis 2"),
    ("caffe_binary", "import caffe {w}/caffe/binary.prototxt -o {w}/caffe/o.yaml", "binary.prototxt"),
    ("caffe_missing", "import caffe {w}/caffe/nothere.prototxt -o {w}/caffe/o.yaml", "no such file"),
    ("caffe_fifo", "import caffe {w}/fifo.yaml -o {w}/caffe/o.yaml", "not a regular file"),
    ("caffe_dir", "import caffe {w}/caffe -o {w}/caffe/o.yaml", "directory"),
    ("caffe_train_val", "import caffe {w}/caffe/train_val.prototxt -o {w}/caffe/o.yaml", "--input"),
    ("caffe_input_flag", "import caffe {w}/caffe/train_val.prototxt --input 8,8", "--input"),
    ("caffe_out_suffix", "import caffe {w}/caffe/good.prototxt -o {w}/caffe/o.txt", ".yaml"),
    ("caffe_out_dir", "import caffe {w}/caffe/good.prototxt -o {w}/adir.yaml", "directory"),
    ("caffe_format", "import onnx {w}/caffe/good.prototxt", "caffe"),
    (
        "caffe_weights_missing",
        "import caffe {w}/caffe/good.prototxt -o {w}/caffe/o.yaml --weights {w}/caffe/no.caffemodel",
        "no such file",
    ),
    (
        "caffe_weights_garbage",
        "import caffe {w}/caffe/good.prototxt -o {w}/caffe/o.yaml --weights {w}/caffe/garbage.caffemodel",
        "garbage.caffemodel",
    ),
    (
        "caffe_weights_empty",
        "import caffe {w}/caffe/good.prototxt -o {w}/caffe/o.yaml --weights {w}/caffe/empty.caffemodel",
        "no layers",
    ),
    (
        "caffe_weights_text",
        "import caffe {w}/caffe/good.prototxt -o {w}/caffe/o.yaml --weights {w}/caffe/text.caffemodel",
        "text.caffemodel",
    ),
    (
        "caffe_load_garbage",
        "export caffe {w}/tiny.yaml --weights {w}/caffe/garbage.caffemodel -o {w}/caffe/x.caffemodel",
        "garbage.caffemodel",
    ),
    ("caffe_export_suffix", "export caffe {w}/model.keras -o {w}/caffe/x.h5", ".caffemodel"),
    (
        "caffe_export_prototxt",
        "export caffe {w}/model.keras -o {w}/caffe/x.caffemodel --prototxt {w}/caffe/x.txt",
        ".prototxt",
    ),
    ("caffe_export_lenet", "export caffe lenet5 -o {w}/caffe/x.caffemodel", "Caffe"),
    (
        "caffe_export_like",
        "export caffe {w}/model.keras -o {w}/caffe/x.caffemodel --like {w}/caffe/syntax.prototxt",
        "syntax.prototxt:3:9",
    ),
    ("caffe_export_param", "export caffe {w}/model.keras -o {w}/caffe/x.caffemodel --param classes=3", "--param"),
    ("caffe_export_notmodel", "export caffe {w}/afile.keras -o {w}/caffe/x.caffemodel", "afile.keras"),
)

ALL = CAFFE + READING + FILES + PARAMS + SIZES + RECIPES + FLAGS + DATA + FINETUNE + SPACES + LOOKING


def test_the_suite_is_large_and_ids_are_unique():
    ids = [c.id for c in ALL]
    assert len(ids) == len(set(ids))
    assert len(ALL) >= 150


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_hostile_input_is_refused_cleanly(world, case, capsys):
    check(world, case, run_main(capsys))
